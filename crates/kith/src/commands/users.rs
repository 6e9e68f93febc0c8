//! `kith users`: the web app's accounts from the command line, for operators who are locked out
//! or who script (list, add, set-role, reset-password, remove). Passwords never come from the
//! command line (other users of the machine can read it): they are asked on the terminal with
//! echo off, or read from standard input with `--password-stdin`.

use std::io::BufRead;

use kith_store::{Role, Store, User};
use serde::Serialize;

use super::Context;
use crate::cli::{UsersAction, UsersArgs};
use crate::failure::Failure;

pub fn users(cx: &Context, args: &UsersArgs) -> Result<(), Failure> {
    let store = cx.open()?;
    let store = store.as_ref();
    match &args.action {
        UsersAction::List => list(cx, store),
        UsersAction::Add {
            name,
            role,
            password_stdin,
        } => {
            let role = parse_role(role)?;
            let name = name.trim();
            if name.is_empty() {
                return Err(Failure::Usage("the account name is empty".into()));
            }
            if find(store, name).is_ok() {
                return Err(Failure::Usage(format!(
                    "an account named `{name}` exists already (kith users list)"
                )));
            }
            let password = new_password(*password_stdin, &format!("Password for {name}"))?;
            let hash = kith_web::auth::hash_password(&password)
                .map_err(|e| Failure::Other(anyhow::anyhow!("hashing the password: {e}")))?;
            let user = store.create_user(name, &hash, role)?;
            cx.out.result(&user, || {
                format!("account {} created with role {}", user.name, user.role)
            });
            Ok(())
        }
        UsersAction::SetRole { name, role } => {
            let role = parse_role(role)?;
            let user = find(store, name)?;
            if user.role == Role::Owner && role != Role::Owner {
                keep_an_owner(store, &user, "change the role of")?;
            }
            store.set_user_role(user.id, role)?;
            let user = find(store, name)?;
            cx.out.result(&user, || {
                format!(
                    "account {} now has role {} (from its next request, within 5 seconds on a running server)",
                    user.name, user.role
                )
            });
            Ok(())
        }
        UsersAction::ResetPassword {
            name,
            password_stdin,
        } => {
            let user = find(store, name)?;
            let password =
                new_password(*password_stdin, &format!("New password for {}", user.name))?;
            let hash = kith_web::auth::hash_password(&password)
                .map_err(|e| Failure::Other(anyhow::anyhow!("hashing the password: {e}")))?;
            store.set_user_password(user.id, &hash)?;
            store.delete_user_sessions(user.id)?;
            #[derive(Serialize)]
            struct Reset<'a> {
                user: &'a User,
                sessions_ended: bool,
            }
            cx.out.result(
                &Reset {
                    user: &user,
                    sessions_ended: true,
                },
                || {
                    let mut t = format!(
                        "account {}: password changed, its sessions ended",
                        user.name
                    );
                    if user.disabled {
                        t.push_str(
                            "\nthe account is disabled: an admin enables it on the Accounts page",
                        );
                    }
                    t
                },
            );
            Ok(())
        }
        UsersAction::Remove { name } => {
            let user = find(store, name)?;
            if user.role == Role::Owner {
                keep_an_owner(store, &user, "remove")?;
            }
            let mut revoked = 0;
            for t in store.tokens(Some(user.id))? {
                if t.revoked_at.is_none() {
                    store.revoke_token(t.id)?;
                    revoked += 1;
                }
            }
            store.set_user_disabled(user.id, true)?;
            store.delete_user_sessions(user.id)?;
            #[derive(Serialize)]
            struct Removed<'a> {
                user: &'a str,
                disabled: bool,
                sessions_ended: bool,
                tokens_revoked: usize,
            }
            cx.out.result(
                &Removed {
                    user: &user.name,
                    disabled: true,
                    sessions_ended: true,
                    tokens_revoked: revoked,
                },
                || {
                    format!(
                        "account {} removed: it cannot log in, its sessions ended, {revoked} API tokens revoked \
                         (kept disabled so that its notes and merges keep their author)",
                        user.name
                    )
                },
            );
            Ok(())
        }
    }
}

fn list(cx: &Context, store: &dyn Store) -> Result<(), Failure> {
    #[derive(Serialize)]
    struct Account {
        #[serde(flatten)]
        user: User,
        active_tokens: usize,
    }
    let tokens = store.tokens(None)?;
    let accounts: Vec<Account> = store
        .users()?
        .into_iter()
        .map(|user| Account {
            active_tokens: tokens
                .iter()
                .filter(|t| t.user == user.id && t.revoked_at.is_none())
                .count(),
            user,
        })
        .collect();
    cx.out.result(&accounts, || {
        if accounts.is_empty() {
            return "no accounts yet: create the owner with `kith users add NAME --role owner` \
                    or on the web app's first page"
                .into();
        }
        let mut t = format!(
            "{:<24} {:<10} {:<9} {:<11} {}\n",
            "name", "role", "state", "created", "API tokens"
        );
        for a in &accounts {
            let created = chrono::DateTime::from_timestamp(a.user.created_at, 0)
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default();
            t.push_str(&format!(
                "{:<24} {:<10} {:<9} {:<11} {}\n",
                a.user.name,
                a.user.role.as_str(),
                if a.user.disabled {
                    "disabled"
                } else {
                    "active"
                },
                created,
                a.active_tokens
            ));
        }
        t
    });
    Ok(())
}

fn parse_role(text: &str) -> Result<Role, Failure> {
    Role::parse(text.trim()).ok_or_else(|| {
        let names: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        Failure::Usage(format!(
            "unknown role `{text}`: use one of {}",
            names.join(", ")
        ))
    })
}

fn find(store: &dyn Store, name: &str) -> Result<User, Failure> {
    let name = name.trim();
    store
        .users()?
        .into_iter()
        .find(|u| u.name == name)
        .ok_or_else(|| {
            Failure::Usage(format!(
                "no account is named `{name}` (kith users list shows them)"
            ))
        })
}

/// Refuses to leave the database without an enabled owner: nobody could manage owners again.
fn keep_an_owner(store: &dyn Store, user: &User, doing: &str) -> Result<(), Failure> {
    let others = store
        .users()?
        .into_iter()
        .filter(|u| u.id != user.id && u.role == Role::Owner && !u.disabled)
        .count();
    if others == 0 {
        return Err(Failure::Usage(format!(
            "cannot {doing} {}: it is the only enabled owner (make another account owner first)",
            user.name
        )));
    }
    Ok(())
}

/// A new password: the first line of standard input, or asked twice on the terminal without
/// echo. Checked against the web app's rules.
fn new_password(from_stdin: bool, prompt: &str) -> Result<String, Failure> {
    let password = if from_stdin {
        let mut line = String::new();
        let n = std::io::stdin().lock().read_line(&mut line)?;
        if n == 0 {
            return Err(Failure::Usage(
                "--password-stdin: standard input is empty (send the password as its first line)"
                    .into(),
            ));
        }
        strip_newline(line)
    } else {
        let first = ask_hidden(&format!("{prompt}: "))?;
        let again = ask_hidden("Again: ")?;
        if first != again {
            return Err(Failure::Usage(
                "the two passwords differ; nothing changed".into(),
            ));
        }
        first
    };
    kith_web::auth::check_password(&password).map_err(Failure::Usage)?;
    Ok(password)
}

fn strip_newline(mut line: String) -> String {
    if line.ends_with('\n') {
        line.pop();
        if line.ends_with('\r') {
            line.pop();
        }
    }
    line
}

/// Asks on the controlling terminal with echo off (restored afterwards, also on error).
#[cfg(unix)]
fn ask_hidden(prompt: &str) -> Result<String, Failure> {
    use rustix::termios::{LocalModes, OptionalActions, tcgetattr, tcsetattr};
    use std::io::Write;

    let no_terminal = |e: std::io::Error| {
        Failure::Usage(format!(
            "no terminal to ask for the password on ({e}): send it on standard input with --password-stdin"
        ))
    };
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(no_terminal)?;
    let before = tcgetattr(&tty).map_err(|e| no_terminal(e.into()))?;
    let mut quiet = before.clone();
    quiet.local_modes.remove(LocalModes::ECHO);
    tcsetattr(&tty, OptionalActions::Flush, &quiet).map_err(|e| no_terminal(e.into()))?;
    let mut line = String::new();
    let read = (&tty)
        .write_all(prompt.as_bytes())
        .and_then(|()| (&tty).flush())
        .and_then(|()| std::io::BufReader::new(&tty).read_line(&mut line));
    let restored = tcsetattr(&tty, OptionalActions::Flush, &before);
    let _ = (&tty).write_all(b"\n");
    read?;
    restored.map_err(std::io::Error::from)?;
    Ok(strip_newline(line))
}

#[cfg(not(unix))]
fn ask_hidden(_prompt: &str) -> Result<String, Failure> {
    Err(Failure::Usage(
        "asking for a password without echo needs a Unix terminal: send it on standard input with --password-stdin".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_ending_is_stripped_and_nothing_else() {
        assert_eq!(strip_newline("pw  \n".into()), "pw  ");
        assert_eq!(strip_newline("pw\r\n".into()), "pw");
        assert_eq!(strip_newline("pw".into()), "pw");
    }
}
