//! The first pass over an untrusted JSON payload: a validating scan without recursion.
//!
//! `serde-json-core` walks nested values by recursion — also the values of unknown keys it
//! skips — so a payload of a few ten thousand `[` overflows the stack of whatever thread
//! decodes it. This scan runs first, in one loop with a depth counter and a bit per level
//! (object or array) instead of a call stack, and lets through only payloads that
//!
//! - are UTF-8 and well-formed JSON text by RFC 8259 (strict grammar: no trailing commas,
//!   no leading zeros, no control characters inside strings, only the defined escapes, one
//!   value and nothing but whitespace after it),
//! - nest arrays and objects at most [`MAX_DEPTH`] levels deep (the top-level object is
//!   level 1), and
//! - write every object key literally, without a backslash escape, and
//! - never write the integer `-0` (parsers disagree on whether it is 0 or the float -0.0;
//!   `-0.0` and `-0e0` are plain floats and stay legal).
//!
//! After it, the parser only ever sees shallow, well-formed input, and a key's bytes are its
//! name: `"h\u0072"` cannot hide a second `hr` from the duplicate-key rule.
//!
//! Cost: one pass over the bytes (`str::from_utf8`, then the grammar), no allocation, a fixed
//! few words of stack.

use super::JsonError;

/// Deepest nesting of arrays and objects a JSON payload may have; the top-level object is
/// level 1, a waveform's `samples` array level 2. Deeper payloads are rejected before parsing.
pub const MAX_DEPTH: usize = 8;

// One bit per open container; `u16` holds more levels than `MAX_DEPTH`.
const _: () = assert!(MAX_DEPTH <= u16::BITS as usize);

/// Checks `bytes` as described in the module docs.
///
/// # Errors
/// [`JsonError::Utf8`], [`JsonError::Syntax`], [`JsonError::TooDeep`],
/// [`JsonError::EscapedKey`] or [`JsonError::NegativeZero`], each with the byte offset where
/// the scan stopped.
pub fn check(bytes: &[u8]) -> Result<(), JsonError> {
    if let Err(e) = core::str::from_utf8(bytes) {
        return Err(JsonError::Utf8 {
            offset: e.valid_up_to(),
        });
    }
    let mut s = Scanner { bytes, pos: 0 };
    // Open containers: `depth` of them, bit `d` set when level `d + 1` is an object.
    let mut depth = 0usize;
    let mut objects = 0u16;
    loop {
        // A value starts here.
        s.skip_ws();
        let at = s.pos;
        match s.peek() {
            Some(open @ (b'{' | b'[')) => {
                if depth == MAX_DEPTH {
                    return Err(JsonError::TooDeep { offset: at });
                }
                s.pos += 1;
                s.skip_ws();
                let is_object = open == b'{';
                let close = if is_object { b'}' } else { b']' };
                if s.peek() == Some(close) {
                    // An empty container is a complete value at the current depth.
                    s.pos += 1;
                } else {
                    if is_object {
                        objects |= 1 << depth;
                        s.key_and_colon()?;
                    } else {
                        objects &= !(1 << depth);
                    }
                    depth += 1;
                    continue;
                }
            }
            Some(b'"') => {
                s.string()?;
            }
            Some(b'-' | b'0'..=b'9') => s.number()?,
            Some(b't') => s.literal(b"true")?,
            Some(b'f') => s.literal(b"false")?,
            Some(b'n') => s.literal(b"null")?,
            _ => return Err(s.syntax()),
        }
        // A value ended: close containers until one continues with `,`, or the text ends.
        loop {
            s.skip_ws();
            if depth == 0 {
                return if s.pos == bytes.len() {
                    Ok(())
                } else {
                    Err(s.syntax())
                };
            }
            let in_object = objects & (1 << (depth - 1)) != 0;
            match (s.peek(), in_object) {
                (Some(b','), _) => {
                    s.pos += 1;
                    if in_object {
                        s.skip_ws();
                        s.key_and_colon()?;
                    }
                    break;
                }
                (Some(b'}'), true) | (Some(b']'), false) => {
                    s.pos += 1;
                    depth -= 1;
                }
                _ => return Err(s.syntax()),
            }
        }
    }
}

struct Scanner<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn syntax(&self) -> JsonError {
        JsonError::Syntax { offset: self.pos }
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// An object key (a string without escapes), whitespace, `:`.
    fn key_and_colon(&mut self) -> Result<(), JsonError> {
        let start = self.pos;
        if self.peek() != Some(b'"') {
            return Err(self.syntax());
        }
        if self.string()? {
            return Err(JsonError::EscapedKey { offset: start });
        }
        self.skip_ws();
        if self.peek() != Some(b':') {
            return Err(self.syntax());
        }
        self.pos += 1;
        Ok(())
    }

    /// A string starting at the `"` under the cursor; true if it contains an escape.
    fn string(&mut self) -> Result<bool, JsonError> {
        self.pos += 1;
        let mut escaped = false;
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(escaped);
                }
                Some(b'\\') => {
                    escaped = true;
                    self.pos += 1;
                    match self.peek() {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                            self.pos += 1;
                        }
                        Some(b'u') => {
                            self.pos += 1;
                            for _ in 0..4 {
                                if !self.peek().is_some_and(|c| c.is_ascii_hexdigit()) {
                                    return Err(self.syntax());
                                }
                                self.pos += 1;
                            }
                        }
                        _ => return Err(self.syntax()),
                    }
                }
                // Control characters must be escaped; the text ends inside the string.
                Some(0x00..=0x1f) | None => return Err(self.syntax()),
                Some(_) => self.pos += 1,
            }
        }
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, except `-0` as an integer.
    fn number(&mut self) -> Result<(), JsonError> {
        let start = self.pos;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.pos += 1;
        }
        let zero = self.peek() == Some(b'0');
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.syntax()),
        }
        let mut integer = true;
        if self.peek() == Some(b'.') {
            integer = false;
            self.pos += 1;
            self.one_or_more_digits()?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            integer = false;
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            self.one_or_more_digits()?;
        }
        if negative && zero && integer {
            // Parsers disagree on `-0`: the integer 0 for serde-json-core and Python, the
            // float -0.0 for serde_json (which then refuses it as an integer) and JavaScript.
            return Err(JsonError::NegativeZero { offset: start });
        }
        Ok(())
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
    }

    fn one_or_more_digits(&mut self) -> Result<(), JsonError> {
        if !self.peek().is_some_and(|c| c.is_ascii_digit()) {
            return Err(self.syntax());
        }
        self.digits();
        Ok(())
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), JsonError> {
        if self.bytes[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.syntax())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> bool {
        check(s.as_bytes()).is_ok()
    }

    #[test]
    fn accepts_well_formed_json() {
        for s in [
            r#"{}"#,
            r#"[]"#,
            r#"0"#,
            r#" "x" "#,
            r#"{"a":[1,-2.5e+3,0.0,true,false,null,"\"\\\/\b\f\n\r\t\u00e9é"],"b":{"c":{}}}"#,
            "\t{\r\n\"hr\" : 72 ,\"spo2\":98}\n",
            r#"[[[[[[[[1]]]]]]]]"#,
            r#"{"a":{"b":{"c":{"d":{"e":{"f":{"g":[]}}}}}}}"#,
        ] {
            assert!(ok(s), "{s}");
        }
    }

    #[test]
    fn rejects_what_rfc_8259_rejects() {
        for s in [
            "",
            " ",
            "{",
            "}",
            "{]",
            "[}",
            "[1,]",
            "{\"a\":1,}",
            "{,}",
            "[,1]",
            "{\"a\" 1}",
            "{\"a\":}",
            "{1:1}",
            "{'a':1}",
            "[01]",
            "[-]",
            "[1.]",
            "[.5]",
            "[1e]",
            "[+1]",
            "[0x10]",
            "[NaN]",
            "[tru]",
            "[nul]",
            "[\"\\x\"]",
            "[\"\\u12g4\"]",
            "[\"tab\there\"]",
            "[\"open]",
            "{} {}",
            "[1] x",
            "[1 2]",
            "{\"a\":1 \"b\":2}",
            "\u{feff}{}",
        ] {
            assert!(!ok(s), "{s:?}");
        }
        assert_eq!(
            check(b"[\"\xff\"]"),
            Err(JsonError::Utf8 { offset: 2 }),
            "not utf-8"
        );
    }

    #[test]
    fn depth_is_bounded_without_recursion() {
        let nest = |n: usize| {
            let mut v = std::vec![b'['; n];
            v.extend(std::iter::repeat_n(b']', n));
            v
        };
        assert_eq!(check(&nest(MAX_DEPTH)), Ok(()));
        assert_eq!(
            check(&nest(MAX_DEPTH + 1)),
            Err(JsonError::TooDeep { offset: MAX_DEPTH })
        );
        // A million levels cost a loop, not a stack (fewer under Miri, which is ~1000x slower).
        assert_eq!(
            check(&nest(if cfg!(miri) { 1 << 12 } else { 1 << 20 })),
            Err(JsonError::TooDeep { offset: MAX_DEPTH })
        );
        // An empty container is a level too.
        let mut v = nest(MAX_DEPTH - 1);
        v.splice(MAX_DEPTH - 1..MAX_DEPTH - 1, *b"[],{}");
        assert_eq!(check(&v), Ok(()), "{}", std::str::from_utf8(&v).unwrap());
        let mut v = nest(MAX_DEPTH);
        v.splice(MAX_DEPTH..MAX_DEPTH, *b"{}");
        assert_eq!(check(&v), Err(JsonError::TooDeep { offset: MAX_DEPTH }));
    }

    #[test]
    fn escaped_keys_are_refused_escaped_values_are_not() {
        assert_eq!(
            check(br#"{"hr":72,"h\u0072":400}"#),
            Err(JsonError::EscapedKey { offset: 9 })
        );
        assert_eq!(
            check(br#"{"x":{"a\nb":1}}"#),
            Err(JsonError::EscapedKey { offset: 6 })
        );
        assert_eq!(check(br#"{"note":"line\nbreak \u0041"}"#), Ok(()));
    }

    #[test]
    fn negative_zero_only_as_a_float() {
        assert_eq!(check(b"[1,-0]"), Err(JsonError::NegativeZero { offset: 3 }));
        assert_eq!(check(b"[0,-0.0,-0e0,-0E+1,-10,-1]"), Ok(()));
    }
}
