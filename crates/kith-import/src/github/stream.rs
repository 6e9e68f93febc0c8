//! A saved API response is an array of objects (a page) or one object (`/pulls/<n>`): arrays
//! are walked element by element, so memory holds one object at a time, never the page.

use std::fmt;
use std::io::BufRead;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::ImportError;
use crate::json_stream::{LineCounter, Lines, io_or_malformed};

/// Hands each top-level value to `each` with its index in the array (`None` for a single
/// object) and the line it starts on. A syntax error is [`ImportError::Malformed`] naming
/// `file`, the line, the column and `expected`.
pub(super) fn each_value<R: BufRead>(
    mut reader: R,
    file: &str,
    expected: &str,
    each: &mut dyn FnMut(Option<usize>, u64, Value),
) -> Result<(), ImportError> {
    // A UTF-8 byte-order mark (some tools write one) is not JSON.
    if let Ok(head) = reader.fill_buf()
        && head.starts_with(b"\xef\xbb\xbf")
    {
        reader.consume(3);
    }
    let (counter, lines) = LineCounter::new(reader);
    let mut de = serde_json::Deserializer::from_reader(counter);
    let result = TopLevel {
        lines: &lines,
        each,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end());
    result.map_err(|e| io_or_malformed(file, &e, expected))
}

struct TopLevel<'a> {
    lines: &'a Lines,
    each: &'a mut dyn FnMut(Option<usize>, u64, Value),
}

impl<'de> DeserializeSeed<'de> for TopLevel<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TopLevel<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of objects or one object")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0;
        while let Some((line, value)) = seq.next_element_seed(WithLine(self.lines))? {
            (self.each)(Some(index), line, value);
            index += 1;
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let line = self.lines.current();
        let value =
            <Value as de::Deserialize>::deserialize(de::value::MapAccessDeserializer::new(map))?;
        (self.each)(None, line, value);
        Ok(())
    }

    // Any other JSON at the top is well-formed but not a record: handed on to be skipped.
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        (self.each)(None, self.lines.current(), Value::Null);
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        (self.each)(None, self.lines.current(), Value::Bool(v));
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        (self.each)(None, self.lines.current(), Value::from(v));
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        (self.each)(None, self.lines.current(), Value::from(v));
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        (self.each)(None, self.lines.current(), Value::from(v));
        Ok(())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        (self.each)(None, self.lines.current(), Value::from(v));
        Ok(())
    }
}

struct WithLine<'a>(&'a Lines);

impl<'de> DeserializeSeed<'de> for WithLine<'_> {
    type Value = (u64, Value);

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<(u64, Value), D::Error> {
        // serde_json has read the element's first byte already: this is its line.
        let line = self.0.current();
        let value = <Value as de::Deserialize>::deserialize(deserializer)?;
        Ok((line, value))
    }
}
