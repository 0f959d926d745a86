//! Cache keys: blake3 of a canonical serialisation of everything that changes a stage's
//! output: the stage's name and code version, its parameters, its inputs' keys and the seed.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A 256-bit content key, shown as 64 lowercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CacheKey([u8; 32]);

impl CacheKey {
    /// The key's hex form.
    pub fn hex(&self) -> String {
        blake3::Hash::from_bytes(self.0).to_hex().to_string()
    }

    /// Parses 64 hex digits.
    pub fn from_hex(s: &str) -> Option<Self> {
        blake3::Hash::from_hex(s)
            .ok()
            .map(|h| CacheKey(*h.as_bytes()))
    }

    /// The first 12 hex digits, for logs and file names.
    pub fn short(&self) -> String {
        self.hex()[..12].to_string()
    }

    /// The key of arbitrary bytes (used for content hashes of input files).
    pub fn of_bytes(bytes: &[u8]) -> Self {
        CacheKey(*blake3::hash(bytes).as_bytes())
    }
}

impl fmt::Display for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex())
    }
}

impl Serialize for CacheKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.hex())
    }
}

impl<'de> Deserialize<'de> for CacheKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        CacheKey::from_hex(&s).ok_or_else(|| serde::de::Error::custom("invalid cache key"))
    }
}

/// Everything a stage's output depends on. Its key is blake3 over the canonical JSON
/// form: `serde_json::Value` keeps object keys sorted, so field order and formatting of
/// the parameters never change the key, while any change of value does.
#[derive(Debug, Clone, Serialize)]
pub struct KeyInput {
    /// The stage's name, e.g. `dataset_prep`.
    pub stage: &'static str,
    /// Bumped whenever the stage's code changes its output.
    pub code_version: u32,
    /// The stage's parameters.
    pub params: serde_json::Value,
    /// Keys of the stage outputs this one reads.
    pub upstream: Vec<CacheKey>,
    /// The seed of every random choice the stage makes.
    pub seed: u64,
}

impl KeyInput {
    /// Builds a key input, serialising `params` to its canonical JSON value.
    pub fn new<P: Serialize>(
        stage: &'static str,
        code_version: u32,
        params: &P,
        upstream: Vec<CacheKey>,
        seed: u64,
    ) -> anyhow::Result<Self> {
        Ok(KeyInput {
            stage,
            code_version,
            params: serde_json::to_value(params)?,
            upstream,
            seed,
        })
    }

    /// The canonical serialisation that is hashed.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        // Serialising a struct of plain values into a Vec cannot fail.
        let value = serde_json::to_value(self).expect("key input serialises");
        serde_json::to_vec(&value).expect("json value serialises")
    }

    /// The cache key.
    pub fn key(&self) -> CacheKey {
        CacheKey::of_bytes(&self.canonical_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(params: serde_json::Value, seed: u64) -> KeyInput {
        KeyInput {
            stage: "stage_a",
            code_version: 1,
            params,
            upstream: vec![CacheKey::of_bytes(b"upstream")],
            seed,
        }
    }

    #[test]
    fn same_inputs_give_the_same_key_whatever_the_field_order() {
        let a = input(json!({"size": 4, "rate": 300.0}), 7);
        let b = input(json!({"rate": 300.0, "size": 4}), 7);
        assert_eq!(a.key(), b.key());
        // Pinned: a change of the canonical form would silently orphan every cache.
        assert_eq!(
            String::from_utf8(a.canonical_bytes()).unwrap(),
            r#"{"code_version":1,"params":{"rate":300.0,"size":4},"seed":7,"stage":"stage_a","upstream":[""#
                .to_string()
                + &CacheKey::of_bytes(b"upstream").hex()
                + r#""]}"#
        );
    }

    #[test]
    fn any_change_gives_a_new_key() {
        let base = input(json!({"size": 4}), 7);
        let mut variants = vec![
            input(json!({"size": 5}), 7),
            input(json!({"size": 4}), 8),
            input(json!({"size": 4.0}), 7),
        ];
        let mut v = base.clone();
        v.code_version = 2;
        variants.push(v);
        let mut v = base.clone();
        v.stage = "stage_b";
        variants.push(v);
        let mut v = base.clone();
        v.upstream = vec![CacheKey::of_bytes(b"other")];
        variants.push(v);
        for v in variants {
            assert_ne!(v.key(), base.key(), "{v:?}");
        }
    }

    #[test]
    fn hex_round_trips() {
        let k = CacheKey::of_bytes(b"abc");
        assert_eq!(CacheKey::from_hex(&k.hex()), Some(k));
        assert_eq!(k.short().len(), 12);
        assert_eq!(CacheKey::from_hex("zz"), None);
    }
}
