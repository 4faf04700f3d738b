//! Collects what the typed columns cannot hold, and writes it as the `extra_json` overlay.
//!
//! The overlay mirrors the event's shape: `{"<top-level key>": .., "metadata": {..}, "<body key>":
//! {..}}`. Besides unknown fields it records the original value of a known field whose typed
//! column would change it (a timestamp spelled `+00:00`, lat `" 48.856600"`, an explicit `null`),
//! `"$absent": [..]` for the few fields whose typed column stores JSON `null` as SQL NULL and so
//! cannot tell "null" from "absent", and `"$body"` when a datapointack's body key is
//! `datapointack` rather than `datapoint`. `restore` applies it on top of the typed columns.

use smallvec::SmallVec;

use crate::json::{JsonRef, write_json, write_json_string};

/// Where in the event an overlay entry goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    Top,
    Metadata,
    Body,
}

#[derive(Debug, Clone, Copy)]
enum Entry<'s, J> {
    /// The field as received.
    Value(Level, &'s str, J),
    /// The field was an explicit `null`.
    Null(Level, &'s str),
    /// A null-native field was absent.
    Absent(Level, &'s str),
}

/// The overlay of one event; inline storage so that the common case allocates nothing.
#[derive(Debug)]
pub(crate) struct Extras<'s, J> {
    entries: SmallVec<[Entry<'s, J>; 6]>,
    body_key_override: Option<&'s str>,
}

/// The reserved keys, which a real field may not use (see `DecodeError::ReservedKey`).
pub(crate) const ABSENT_KEY: &str = "$absent";
pub(crate) const BODY_KEY: &str = "$body";

impl<'s, J: JsonRef<'s>> Extras<'s, J> {
    pub(crate) fn new() -> Self {
        Extras {
            entries: SmallVec::new(),
            body_key_override: None,
        }
    }

    pub(crate) fn value(&mut self, level: Level, key: &'s str, value: J) {
        self.entries.push(Entry::Value(level, key, value));
    }

    pub(crate) fn null(&mut self, level: Level, key: &'s str) {
        self.entries.push(Entry::Null(level, key));
    }

    pub(crate) fn absent(&mut self, level: Level, key: &'s str) {
        self.entries.push(Entry::Absent(level, key));
    }

    pub(crate) fn body_key(&mut self, key: &'s str) {
        self.body_key_override = Some(key);
    }

    /// Writes the overlay to `out` and returns true, or writes nothing when there is nothing to
    /// keep (the common case: `extra_json` is then NULL).
    pub(crate) fn write(&self, body_key: &str, out: &mut String) -> bool {
        if self.entries.is_empty() && self.body_key_override.is_none() {
            return false;
        }
        out.push('{');
        let mut first = true;
        self.write_level(Level::Top, out, &mut first);
        for (level, key) in [(Level::Metadata, "metadata"), (Level::Body, body_key)] {
            if self.has(level) {
                comma(out, &mut first);
                write_json_string(key, out);
                out.push_str(":{");
                let mut inner_first = true;
                self.write_level(level, out, &mut inner_first);
                out.push('}');
            }
        }
        if let Some(key) = self.body_key_override {
            comma(out, &mut first);
            write_json_string(BODY_KEY, out);
            out.push(':');
            write_json_string(key, out);
        }
        out.push('}');
        true
    }

    fn has(&self, level: Level) -> bool {
        self.entries.iter().any(|e| entry_level(e) == level)
    }

    fn write_level(&self, level: Level, out: &mut String, first: &mut bool) {
        let mut absent = SmallVec::<[&str; 2]>::new();
        for entry in self.entries.iter().filter(|e| entry_level(e) == level) {
            match *entry {
                Entry::Value(_, key, value) => {
                    comma(out, first);
                    write_json_string(key, out);
                    out.push(':');
                    write_json(value, out);
                }
                Entry::Null(_, key) => {
                    comma(out, first);
                    write_json_string(key, out);
                    out.push_str(":null");
                }
                Entry::Absent(_, key) => absent.push(key),
            }
        }
        if !absent.is_empty() {
            comma(out, first);
            write_json_string(ABSENT_KEY, out);
            out.push_str(":[");
            for (i, key) in absent.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(key, out);
            }
            out.push(']');
        }
    }
}

fn entry_level<J>(entry: &Entry<'_, J>) -> Level {
    match *entry {
        Entry::Value(level, ..) | Entry::Null(level, _) | Entry::Absent(level, _) => level,
    }
}

fn comma(out: &mut String, first: &mut bool) {
    if !*first {
        out.push(',');
    }
    *first = false;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every level's entries in order, and a `$absent` list of any length that stays JSON
    /// (no table has two absent-able fields at one level yet; the writer must not rely on it).
    #[test]
    fn the_overlay_is_json_with_each_level_in_its_object() {
        let value = serde_json::json!(7);
        let mut extras = Extras::<&serde_json::Value>::new();
        extras.value(Level::Top, "t", &value);
        extras.absent(Level::Body, "a");
        extras.null(Level::Body, "n");
        extras.absent(Level::Body, "b");
        extras.absent(Level::Body, "c");
        extras.value(Level::Metadata, "m", &value);
        extras.body_key("renamed");
        let mut out = String::new();
        assert!(extras.write("datapoint", &mut out));
        let written: serde_json::Value =
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
        assert_eq!(
            written,
            serde_json::json!({
                "t": 7,
                "metadata": {"m": 7},
                "datapoint": {"n": null, "$absent": ["a", "b", "c"]},
                "$body": "renamed",
            })
        );
        let mut nothing = String::new();
        assert!(!Extras::<&serde_json::Value>::new().write("datapoint", &mut nothing));
        assert!(nothing.is_empty());
    }
}
