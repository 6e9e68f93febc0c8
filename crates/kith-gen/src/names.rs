//! Who the members are called: names (some non-Latin), handles and e-mails, derived from the
//! member's number and the seed alone, so nothing per member is stored to print them.

use kith_model::Author;

/// (display name, ASCII form used for handles and e-mails).
const FIRST: &[(&str, &str)] = &[
    ("Alice", "alice"),
    ("Bob", "bob"),
    ("Carla", "carla"),
    ("Dev", "dev"),
    ("Emma", "emma"),
    ("Farid", "farid"),
    ("Grace", "grace"),
    ("Hannah", "hannah"),
    ("Ivan", "ivan"),
    ("Julia", "julia"),
    ("Kofi", "kofi"),
    ("Lena", "lena"),
    ("Mateo", "mateo"),
    ("Nora", "nora"),
    ("Oscar", "oscar"),
    ("Priya", "priya"),
    ("Quentin", "quentin"),
    ("Rosa", "rosa"),
    ("Sam", "sam"),
    ("Tariq", "tariq"),
    ("Uma", "uma"),
    ("Victor", "victor"),
    ("Wen", "wen"),
    ("Ximena", "ximena"),
    ("Yusuf", "yusuf"),
    ("Zoë", "zoe"),
    ("José", "jose"),
    ("Łukasz", "lukasz"),
    ("Søren", "soren"),
    ("Chloé", "chloe"),
    ("Björn", "bjorn"),
    ("Ngozi", "ngozi"),
    ("Aisha", "aisha"),
    ("Mehmet", "mehmet"),
    ("Olga", "olga"),
    ("Дмитрий", "dmitry"),
    ("Анна", "anna"),
    ("Сергей", "sergey"),
    ("李", "li"),
    ("王芳", "wangfang"),
    ("张伟", "zhangwei"),
    ("さくら", "sakura"),
    ("健太", "kenta"),
    ("محمد", "mohammed"),
    ("فاطمة", "fatima"),
    ("민준", "minjun"),
    ("서연", "seoyeon"),
    ("Αλέξανδρος", "alexandros"),
    ("राहुल", "rahul"),
    ("Ananya", "ananya"),
    ("Thiago", "thiago"),
    ("Camille", "camille"),
    ("Lars", "lars"),
    ("Ingrid", "ingrid"),
    ("Pedro", "pedro"),
    ("Marta", "marta"),
    ("Kenji", "kenji"),
    ("Amara", "amara"),
    ("Diego", "diego"),
    ("Fatou", "fatou"),
    ("Hiroshi", "hiroshi"),
    ("Leila", "leila"),
    ("Noah", "noah"),
    ("Olivia", "olivia"),
    ("Raj", "raj"),
    ("Sofia", "sofia"),
    ("Tomás", "tomas"),
    ("Valentina", "valentina"),
    ("William", "william"),
    ("Yara", "yara"),
];

const LAST: &[(&str, &str)] = &[
    ("Smith", "smith"),
    ("García", "garcia"),
    ("Müller", "muller"),
    ("Nguyễn", "nguyen"),
    ("Kowalski", "kowalski"),
    ("Okafor", "okafor"),
    ("Rossi", "rossi"),
    ("Dubois", "dubois"),
    ("Johansson", "johansson"),
    ("Silva", "silva"),
    ("Kim", "kim"),
    ("Tanaka", "tanaka"),
    ("Patel", "patel"),
    ("Haddad", "haddad"),
    ("Novak", "novak"),
    ("Ivanova", "ivanova"),
    ("Chen", "chen"),
    ("Brown", "brown"),
    ("Moreau", "moreau"),
    ("O'Brien", "obrien"),
    ("Fernández", "fernandez"),
    ("Yılmaz", "yilmaz"),
    ("Andersen", "andersen"),
    ("Mensah", "mensah"),
    ("Costa", "costa"),
    ("Schmidt", "schmidt"),
    ("Wójcik", "wojcik"),
    ("Sato", "sato"),
    ("Singh", "singh"),
    ("Lopez", "lopez"),
    ("Petrov", "petrov"),
    ("Hughes", "hughes"),
    ("van Dijk", "vandijk"),
    ("Larsen", "larsen"),
    ("Ahmed", "ahmed"),
    ("Park", "park"),
    ("Bianchi", "bianchi"),
    ("Khan", "khan"),
    ("Eriksson", "eriksson"),
    ("Adeyemi", "adeyemi"),
];

/// A surname in the script of a non-Latin first name, when there is one for that script.
fn native_surname(first: &str, h: u64) -> Option<&'static str> {
    let pool: &[&str] = match first.chars().next().map(u32::from)? {
        0x370..=0x3FF => &["Παπαδόπουλος", "Νικολάου"],
        0x400..=0x4FF => &["Иванов", "Петрова", "Смирнов"],
        0x600..=0x6FF => &["الحسن", "حداد"],
        0x900..=0x97F => &["शर्मा", "वर्मा"],
        0x3040..=0x30FF => &["佐藤", "鈴木"],
        0x4E00..=0x9FFF => &["王", "李", "陈"],
        0xAC00..=0xD7AF => &["김", "박", "이"],
        _ => return None,
    };
    Some(pool[(h % pool.len() as u64) as usize])
}

const HANDLE_WORDS: &[&str] = &[
    "quiet", "rusty", "lunar", "pixel", "cobalt", "maple", "tiny", "brave", "nimble", "cosmic",
    "amber", "fox", "otter", "heron", "badger", "panda", "lynx", "koala", "raven", "tiger",
];

const DOMAINS: &[&str] = &[
    "example.com",
    "mail.example.org",
    "uni.example.edu",
    "corp.example.net",
    "posteo.example",
];

/// A cheap, stable 64-bit mix (splitmix64 finaliser): names are a function of (seed, member).
pub(crate) fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The ASCII `prefix` followed by `n` in decimal, without the formatting machinery (ids are written
/// several times per activity, so this is on the hot path).
pub(crate) fn prefixed(prefix: u8, n: u64) -> String {
    let mut buf = [0u8; 21];
    let mut i = buf.len();
    let mut v = n;
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    i -= 1;
    buf[i] = prefix;
    // ASCII throughout, so this never fails.
    std::str::from_utf8(&buf[i..])
        .map(str::to_owned)
        .unwrap_or_default()
}

fn join(parts: &[&str]) -> String {
    let mut s = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        s.push_str(p);
    }
    s
}

/// What a member is, for naming.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Badge {
    Member,
    Team,
    WelcomeBot,
    CiBot,
}

/// The author record of member `n` (the platform id is `u{n}`).
pub(crate) fn author(seed: u64, n: u32, badge: Badge) -> Author {
    let mut a = Author::new(prefixed(b'u', u64::from(n)));
    match badge {
        Badge::WelcomeBot => {
            a.name = Some("Welcome Bot".into());
            a.handle = Some("welcome-bot".into());
            a.bot = Some(true);
            return a;
        }
        Badge::CiBot => {
            a.name = Some("CI".into());
            a.handle = Some("ci-bot".into());
            a.bot = Some(true);
            return a;
        }
        Badge::Member | Badge::Team => {}
    }
    let h = mix(seed ^ mix(u64::from(n)));
    let (first, first_ascii) = FIRST[(h % FIRST.len() as u64) as usize];
    let (last, last_ascii) = LAST[((h >> 8) % LAST.len() as u64) as usize];
    let style = (h >> 16) % 100;
    let name = match style {
        0..=4 => None,
        5..=11 => Some(first.to_owned()),
        // Non-Latin first names get a surname in the same script half of the time.
        _ if (h >> 24).is_multiple_of(2) && native_surname(first, h >> 28).is_some() => {
            native_surname(first, h >> 28).map(|l| join(&[first, " ", l]))
        }
        _ => Some(join(&[first, " ", last])),
    };
    let handle = match (h >> 32) % 4 {
        0 => join(&[first_ascii, &prefixed(b'_', u64::from(n % 1000))[1..]]),
        1 => join(&[first_ascii, ".", last_ascii]),
        2 => {
            let w = HANDLE_WORDS[((h >> 36) % HANDLE_WORDS.len() as u64) as usize];
            join(&[w, "_", first_ascii])
        }
        _ => join(&[
            &first_ascii[..1],
            last_ascii,
            &prefixed(b'_', u64::from(n % 100))[1..],
        ]),
    };
    if badge == Badge::Team {
        a.email = Some(join(&[first_ascii, ".", last_ascii, "@team.example.com"]));
        a.team = Some(true);
    } else if (h >> 40) % 10 < 3 {
        // Unique per member, as real addresses are: namesakes must not look like one person
        // with two accounts (identity resolution would queue every such pair for review).
        let d = DOMAINS[((h >> 44) % DOMAINS.len() as u64) as usize];
        let number = &prefixed(b'_', u64::from(n))[1..];
        a.email = Some(join(&[first_ascii, ".", last_ascii, number, "@", d]));
    }
    a.name = name;
    a.handle = Some(handle);
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixed_numbers_read_as_decimal() {
        assert_eq!(prefixed(b'a', 0), "a0");
        assert_eq!(prefixed(b'u', 1234567), "u1234567");
        assert_eq!(prefixed(b'a', u64::MAX), format!("a{}", u64::MAX));
    }

    #[test]
    fn members_never_share_an_email_address() {
        let mut seen = std::collections::HashSet::new();
        let mut with_email = 0;
        for n in 0..50_000 {
            if let Some(e) = author(7, n, Badge::Member).email {
                with_email += 1;
                assert!(seen.insert(e.clone()), "{e} given to two members");
            }
        }
        assert!(
            with_email > 10_000,
            "about 30 % have an address: {with_email}"
        );
    }

    #[test]
    fn names_are_stable_varied_and_sometimes_non_latin() {
        assert_eq!(author(7, 42, Badge::Member), author(7, 42, Badge::Member));
        let names: Vec<_> = (0..2000)
            .filter_map(|n| author(7, n, Badge::Member).name)
            .collect();
        assert!(names.iter().any(|n| !n.is_ascii()));
        let distinct: std::collections::HashSet<_> = names.iter().collect();
        assert!(distinct.len() > 500);
        assert_eq!(author(7, 3, Badge::Team).team, Some(true));
        assert_eq!(author(7, 1, Badge::WelcomeBot).bot, Some(true));
    }
}
