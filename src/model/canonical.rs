//! Records (burn's named MessagePack) written the same way every time, so that two runs
//! with the same flags write byte-identical files. burn draws each parameter's id at random
//! and writes an optimizer's state in hash-map order; here ids are numbered in the order the
//! record lists them, and map entries are put in the order of their keys' bytes. Both keep
//! the record loadable as it was: ids only need to be unique within a model, and maps are
//! read back by key.

use burn::module::ParamId;

/// `record` with every `id` field's value replaced by the next number (0, 1, 2, ...), in
/// the order the fields appear.
pub fn numbered_ids(record: &[u8]) -> Vec<u8> {
    let mut rewrite = Rewrite {
        next_id: Some(0),
        sort_maps: false,
    };
    rewrite.whole(record)
}

/// `record` with the entries of every map in the order of their keys' bytes.
pub fn sorted_maps(record: &[u8]) -> Vec<u8> {
    let mut rewrite = Rewrite {
        next_id: None,
        sort_maps: true,
    };
    rewrite.whole(record)
}

struct Rewrite {
    /// The number the next `id` field gets, when ids are numbered.
    next_id: Option<u64>,
    sort_maps: bool,
}

impl Rewrite {
    fn whole(&mut self, record: &[u8]) -> Vec<u8> {
        let mut input = record;
        let mut out = Vec::with_capacity(record.len());
        self.value(&mut input, &mut out);
        assert!(
            input.is_empty(),
            "a record is one MessagePack value ({} bytes left over)",
            input.len()
        );
        out
    }

    /// Copy one value from the front of `input` to `out`, rewritten.
    fn value(&mut self, input: &mut &[u8], out: &mut Vec<u8>) {
        let marker = take(input, 1)[0];
        match marker {
            0x80..=0x8f => self.map(usize::from(marker & 0x0f), &[marker], input, out),
            0xde => {
                let head = [&[marker][..], take(input, 2)].concat();
                self.map(be(&head[1..]), &head, input, out)
            }
            0xdf => {
                let head = [&[marker][..], take(input, 4)].concat();
                self.map(be(&head[1..]), &head, input, out)
            }
            0x90..=0x9f => self.array(usize::from(marker & 0x0f), &[marker], input, out),
            0xdc => {
                let head = [&[marker][..], take(input, 2)].concat();
                self.array(be(&head[1..]), &head, input, out)
            }
            0xdd => {
                let head = [&[marker][..], take(input, 4)].concat();
                self.array(be(&head[1..]), &head, input, out)
            }
            _ => {
                out.push(marker);
                let (length_bytes, fixed) = scalar_extent(marker);
                let length = take(input, length_bytes);
                out.extend_from_slice(length);
                let payload = fixed + if length_bytes > 0 { be(length) } else { 0 };
                out.extend_from_slice(take(input, payload));
            }
        }
    }

    fn array(&mut self, count: usize, head: &[u8], input: &mut &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(head);
        for _ in 0..count {
            self.value(input, out);
        }
    }

    fn map(&mut self, count: usize, head: &[u8], input: &mut &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(head);
        let mut entries = Vec::with_capacity(if self.sort_maps { count } else { 0 });
        for _ in 0..count {
            let (mut key, mut value) = (Vec::new(), Vec::new());
            self.value(input, &mut key);
            match self.next_id {
                Some(id) if key == ID_KEY && is_str(input) => {
                    self.value(input, &mut Vec::new());
                    write_str(&ParamId::from(id).serialize(), &mut value);
                    self.next_id = Some(id + 1);
                }
                _ => self.value(input, &mut value),
            }
            if self.sort_maps {
                entries.push((key, value));
            } else {
                out.extend_from_slice(&key);
                out.extend_from_slice(&value);
            }
        }
        entries.sort();
        for (key, value) in entries {
            out.extend_from_slice(&key);
            out.extend_from_slice(&value);
        }
    }
}

/// The MessagePack string "id".
const ID_KEY: &[u8] = &[0xa2, b'i', b'd'];

fn is_str(input: &[u8]) -> bool {
    matches!(input.first(), Some(0xa0..=0xbf | 0xd9..=0xdb))
}

fn write_str(text: &str, out: &mut Vec<u8>) {
    let length = text.len();
    match length {
        0..=31 => out.push(0xa0 | length as u8),
        32..=255 => out.extend_from_slice(&[0xd9, length as u8]),
        _ => {
            out.push(0xda);
            out.extend_from_slice(&(length as u16).to_be_bytes());
        }
    }
    out.extend_from_slice(text.as_bytes());
}

/// For a marker that is not a map or an array: how many bytes of length follow it, and how
/// many payload bytes follow besides those the length gives.
fn scalar_extent(marker: u8) -> (usize, usize) {
    match marker {
        0x00..=0x7f | 0xe0..=0xff | 0xc0..=0xc3 => (0, 0),
        0xa0..=0xbf => (0, usize::from(marker & 0x1f)),
        0xc4 | 0xd9 => (1, 0),
        0xc5 | 0xda => (2, 0),
        0xc6 | 0xdb => (4, 0),
        // ext: the length counts the data, and a type byte comes before it.
        0xc7 => (1, 1),
        0xc8 => (2, 1),
        0xc9 => (4, 1),
        0xca => (0, 4),
        0xcb => (0, 8),
        0xcc | 0xd0 => (0, 1),
        0xcd | 0xd1 => (0, 2),
        0xce | 0xd2 => (0, 4),
        0xcf | 0xd3 => (0, 8),
        0xd4 => (0, 2),
        0xd5 => (0, 3),
        0xd6 => (0, 5),
        0xd7 => (0, 9),
        0xd8 => (0, 17),
        0x80..=0x9f | 0xdc..=0xdf => unreachable!("maps and arrays are walked, not copied"),
    }
}

fn take<'a>(input: &mut &'a [u8], count: usize) -> &'a [u8] {
    assert!(
        input.len() >= count,
        "a record burn wrote is whole MessagePack"
    );
    let (front, rest) = input.split_at(count);
    *input = rest;
    front
}

/// A big-endian unsigned length.
fn be(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .fold(0usize, |acc, &byte| (acc << 8) | usize::from(byte))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Autoencoder, AutoencoderConfig};
    use crate::train::checkpoint::{record_bytes, record_from};
    use burn::backend::Flex;
    use burn::module::{Module, ModuleVisitor, Param};
    use burn::prelude::*;

    fn config() -> AutoencoderConfig {
        AutoencoderConfig::convolutional(crate::model::ConvStack {
            layers: 2,
            filter_size: 3,
            filters: 2,
        })
    }

    /// The ids of `model`'s parameters and running statistics.
    fn ids(model: &Autoencoder<Flex>) -> Vec<u64> {
        let mut ids = Ids(Vec::new());
        model.visit(&mut ids);
        ids.0
    }

    struct Ids(Vec<u64>);
    impl<B: Backend> ModuleVisitor<B> for Ids {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            self.0.push(param.id.val());
        }
    }

    #[test]
    fn ids_are_numbered_in_order_and_load_back() {
        let device = Default::default();
        let model: Autoencoder<Flex> = config().init(&device);
        let count = ids(&model).len();
        let bytes = record_bytes::<Flex, _>(model.into_record());
        let numbered = numbered_ids(&bytes);
        assert_eq!(
            numbered.len(),
            bytes.len(),
            "an id is as long as the one it replaces"
        );
        assert_eq!(numbered_ids(&numbered), numbered);
        let record = record_from::<Flex, _>(numbered, &device).unwrap();
        let loaded = config().init::<Flex>(&device).load_record(record);
        // Numbered in the record's order, which is not quite the module's.
        let mut loaded_ids = ids(&loaded);
        loaded_ids.sort();
        assert_eq!(loaded_ids, (0..count as u64).collect::<Vec<_>>());
    }

    #[test]
    fn maps_come_out_in_key_order_and_load_the_same() {
        // {"b": 1, "a": [2, {"d": 3, "c": 4}]}
        let record = [
            0x82, 0xa1, b'b', 0x01, 0xa1, b'a', 0x92, 0x02, 0x82, 0xa1, b'd', 0x03, 0xa1, b'c',
            0x04,
        ];
        let sorted = [
            0x82, 0xa1, b'a', 0x92, 0x02, 0x82, 0xa1, b'c', 0x04, 0xa1, b'd', 0x03, 0xa1, b'b',
            0x01,
        ];
        assert_eq!(sorted_maps(&record), sorted);
        assert_eq!(sorted_maps(&sorted), sorted);
    }

    #[test]
    fn every_kind_of_scalar_is_copied_whole() {
        let record = [
            0x9d, // an array of 13
            0xc0, 0xc3, 0xff, 0xcc, 0xfe, 0xd1, 0x01, 0x02, 0xca, 0, 0, 0, 1, 0xcb, 0, 0, 0, 0, 0,
            0, 0, 2, 0xc4, 0x02, 9, 9, 0xd9, 0x01, b'x', 0xc7, 0x01, 0x05, 7, 0xd4, 0x01, 0x08,
            0xdc, 0x00, 0x01, 0x05, 0xde, 0x00, 0x00,
        ];
        assert_eq!(sorted_maps(&record), record);
        assert_eq!(numbered_ids(&record), record);
    }
}
