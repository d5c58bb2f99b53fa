//! Spark datetime patterns (`dd/MM/yyyy HH:mm`) translated to chrono format strings.

use ember_common::{EmberError, Result};

/// Translates the common Spark pattern letters; optional sections and rarer letters are
/// reported as not supported yet.
pub(crate) fn spark_to_chrono(pattern: &str) -> Result<String> {
    let unsupported = |what: &str| {
        EmberError::NotSupported(format!(
            "{what} in the datetime pattern '{pattern}'; use letters y M d H h m s S a E Z X and quoted text"
        ))
    };
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            // Quoted literal text; '' is a literal quote.
            let mut j = i + 1;
            if chars.get(j) == Some(&'\'') {
                out.push('\'');
                i += 2;
                continue;
            }
            while j < chars.len() && chars[j] != '\'' {
                push_literal(&mut out, chars[j]);
                j += 1;
            }
            i = j + 1;
            continue;
        }
        if !c.is_ascii_alphabetic() {
            if c == '.' && chars.get(i + 1) == Some(&'S') {
                out.push_str("%.f");
                i += 1;
                while chars.get(i) == Some(&'S') {
                    i += 1;
                }
                continue;
            }
            if c == '[' || c == ']' {
                return Err(unsupported("optional sections"));
            }
            push_literal(&mut out, c);
            i += 1;
            continue;
        }
        let mut run = 1;
        while chars.get(i + run) == Some(&c) {
            run += 1;
        }
        let spec = match (c, run) {
            ('y', 2) => "%y",
            ('y', _) => "%Y",
            ('M', 1 | 2) => "%m",
            ('M', 3) => "%b",
            ('M', _) => "%B",
            ('d', 1 | 2) => "%d",
            ('H', 1 | 2) => "%H",
            ('h', 1 | 2) => "%I",
            ('m', 1 | 2) => "%M",
            ('s', 1 | 2) => "%S",
            ('a', 1) => "%p",
            ('E', 1..=3) => "%a",
            ('E', _) => "%A",
            ('X' | 'x', 1 | 2) | ('Z', _) => "%z",
            ('X' | 'x', _) => "%:z",
            _ => {
                return Err(unsupported(&format!(
                    "the letter run '{}'",
                    c.to_string().repeat(run)
                )))
            }
        };
        out.push_str(spec);
        i += run;
    }
    Ok(out)
}

fn push_literal(out: &mut String, c: char) {
    if c == '%' {
        out.push_str("%%");
    } else {
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_patterns_translate() -> Result<()> {
        assert_eq!(spark_to_chrono("dd/MM/yyyy")?, "%d/%m/%Y");
        assert_eq!(
            spark_to_chrono("yyyy-MM-dd HH:mm:ss.SSS")?,
            "%Y-%m-%d %H:%M:%S%.f"
        );
        assert_eq!(spark_to_chrono("yyyy-MM-dd'T'HH:mm")?, "%Y-%m-%dT%H:%M");
        assert!(spark_to_chrono("yyyy[-MM]").is_err());
        assert!(spark_to_chrono("QQQ").is_err());
        Ok(())
    }
}
