//! `.mailmap`, read and applied the way Git does (`gitmailmap(5)`): each line maps an address,
//! or a name and address, as found in commits to the person's proper name and/or address.
//! Addresses and names match without regard to ASCII case; a later line overrides an earlier
//! one for the same key.
//!
//! ```text
//! Proper Name <commit@email>                           # name by address
//! <proper@email> <commit@email>                        # address by address
//! Proper Name <proper@email> <commit@email>            # both by address
//! Proper Name <proper@email> Commit Name <commit@email> # both by name and address
//! ```

use std::collections::HashMap;

/// What a match replaces: either may be absent (keep the commit's).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Replacement {
    name: Option<String>,
    email: Option<String>,
}

/// The entries for one commit address.
#[derive(Debug, Default)]
struct Entry {
    /// For any name.
    simple: Replacement,
    /// By commit name (lower case), tried first.
    by_name: HashMap<String, Replacement>,
}

#[derive(Debug, Default)]
pub(crate) struct Mailmap {
    /// By commit address (lower case).
    by_email: HashMap<String, Entry>,
}

impl Mailmap {
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.by_email.is_empty()
    }

    /// Adds the lines of one mailmap file (later files override earlier ones, as Git reads the
    /// work tree's `.mailmap`, then `mailmap.blob`, then `mailmap.file`). Lines that are not
    /// mappings are ignored, as Git ignores them.
    pub fn add(&mut self, text: &[u8]) {
        for line in text.split(|&b| b == b'\n') {
            let line = String::from_utf8_lossy(line);
            self.add_line(&line);
        }
    }

    fn add_line(&mut self, line: &str) {
        if line.starts_with('#') {
            return;
        }
        let Some((name1, email1, rest)) = name_and_email(line, false) else {
            return;
        };
        let (name2, email2) = match rest.and_then(|r| name_and_email(r, true)) {
            Some((n, e, _)) => (n, Some(e)),
            None => (None, None),
        };
        // One address: it is the commit's, and only the name is replaced.
        let (new_email, old_email) = match email2 {
            Some(old) => (Some(email1), old),
            None => (None, email1),
        };
        let entry = self
            .by_email
            .entry(old_email.to_ascii_lowercase())
            .or_default();
        match name2 {
            None => {
                if let Some(n) = name1 {
                    entry.simple.name = Some(n.to_owned());
                }
                if let Some(e) = new_email {
                    entry.simple.email = Some(e.to_owned());
                }
            }
            Some(old_name) => {
                entry.by_name.insert(
                    old_name.to_ascii_lowercase(),
                    Replacement {
                        name: name1.map(str::to_owned),
                        email: new_email.map(str::to_owned),
                    },
                );
            }
        }
    }

    /// The name and address to use for a commit's `name` and `email`.
    pub fn map<'a>(&'a self, name: &'a str, email: &'a str) -> (&'a str, &'a str) {
        if self.by_email.is_empty() {
            return (name, email);
        }
        let Some(entry) = self.by_email.get(&email.to_ascii_lowercase()) else {
            return (name, email);
        };
        let found = if entry.by_name.is_empty() {
            &entry.simple
        } else {
            entry
                .by_name
                .get(&name.to_ascii_lowercase())
                .unwrap_or(&entry.simple)
        };
        (
            found.name.as_deref().unwrap_or(name),
            found.email.as_deref().unwrap_or(email),
        )
    }
}

/// `Name <address>` at the start of `text`: the name (trimmed; `None` when empty), the address
/// (as written between the first `<` and the `>` after it; empty only when `allow_empty`),
/// and what follows (`None` when nothing does).
fn name_and_email(text: &str, allow_empty: bool) -> Option<(Option<&str>, &str, Option<&str>)> {
    let left = text.find('<')?;
    let right = left + 1 + text[left + 1..].find('>')?;
    if !allow_empty && right == left + 1 {
        return None;
    }
    // Git's isspace: space, tab, newline, carriage return.
    let name = text[..left].trim_matches([' ', '\t', '\n', '\r']);
    let rest = &text[right + 1..];
    Some((
        (!name.is_empty()).then_some(name),
        &text[left + 1..right],
        (!rest.is_empty()).then_some(rest),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mailmap(text: &str) -> Mailmap {
        let mut m = Mailmap::default();
        m.add(text.as_bytes());
        m
    }

    #[test]
    fn the_four_forms_of_gitmailmap_5() {
        let m = mailmap(
            "Jane Doe <jane@old.example>\n\
             <bob@example.org> <bob@laptop.local>\n\
             Carol C <carol@example.org> <cc@old.example>\n\
             Dan D <dan@example.org> dan <shared@example.org>\n\
             # a comment line\n",
        );
        assert_eq!(
            m.map("jane", "jane@old.example"),
            ("Jane Doe", "jane@old.example")
        );
        assert_eq!(m.map("Bob", "bob@laptop.local"), ("Bob", "bob@example.org"));
        assert_eq!(
            m.map("cc", "cc@old.example"),
            ("Carol C", "carol@example.org")
        );
        // By name and address: only the name it names; others keep theirs.
        assert_eq!(
            m.map("dan", "shared@example.org"),
            ("Dan D", "dan@example.org")
        );
        assert_eq!(
            m.map("eve", "shared@example.org"),
            ("eve", "shared@example.org")
        );
        assert_eq!(m.map("x", "other@example.org"), ("x", "other@example.org"));
    }

    #[test]
    fn matching_ignores_ascii_case_and_later_lines_win() {
        let m = mailmap("Old <A@Example.org>\nNew <a@example.ORG>\nDan <d@x> DAN <s@x>\n");
        assert_eq!(m.map("a", "a@example.org"), ("New", "a@example.org"));
        assert_eq!(m.map("dan", "S@X"), ("Dan", "d@x"));
    }

    #[test]
    fn lines_without_a_mapping_are_ignored() {
        let m = mailmap(
            "no address here\n<>\n  # indented is not a comment <c@x>\nName <> <d@x>\nE <e@x> <>\n",
        );
        // Only a `#` in the first column starts a comment: the indented line maps c@x.
        assert_eq!(m.map("n", "c@x"), ("# indented is not a comment", "c@x"));
        // An empty first address makes no mapping; an empty commit address is one.
        assert_eq!(m.map("n", "d@x"), ("n", "d@x"));
        assert_eq!(m.map("n", ""), ("E", "e@x"));
        assert!(mailmap("").is_empty());
        assert!(mailmap("# only\n\n").is_empty());
    }
}
