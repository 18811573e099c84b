use super::rules::CATEGORIES;
use super::*;

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn ops(s: &str) -> Vec<Bytes> {
    s.split(' ').map(b).collect()
}

fn acl() -> Acl {
    Acl::new(&CommandTable::new())
}

fn commands_of(acl: &Acl, name: &str) -> String {
    acl.get(name.as_bytes())
        .expect("user")
        .rules()
        .root()
        .describe_commands(&acl.commands)
}

fn allowed(acl: &Acl, user: &str, cmd: &str) -> Result<(), Denied> {
    let args = ops(cmd);
    let r = CommandTable::new().resolve(&args).expect("command");
    acl.get(user.as_bytes())
        .expect("user")
        .rules()
        .check(&acl.commands, r.stat, &args)
}

#[test]
fn the_default_user_can_do_anything() {
    let acl = acl();
    assert!(acl.default_user().rules().unrestricted());
    assert!(acl.default_open());
    assert_eq!(
        acl.describe(&acl.default_user()),
        "user default on nopass ~* &* +@all"
    );
}

#[test]
fn category_rules_describe_back_as_given() {
    let acl = acl();
    for cat in CATEGORIES {
        acl.set_user(b"additive", &ops(&format!("reset +@all -@{cat}")))
            .expect("rules");
        assert_eq!(commands_of(&acl, "additive"), format!("+@all -@{cat}"));
        acl.set_user(b"restrictive", &ops(&format!("reset -@all +@{cat}")))
            .expect("rules");
        assert_eq!(commands_of(&acl, "restrictive"), format!("-@all +@{cat}"));
    }
}

#[test]
fn subcommands_and_first_args() {
    let acl = acl();
    acl.set_user(b"u", &ops("on nopass -@all +client|id +select|0"))
        .expect("rules");
    let cmds = commands_of(&acl, "u");
    assert!(cmds.contains("+client|id"), "{cmds}");
    assert!(cmds.contains("+select|0"), "{cmds}");
    assert!(allowed(&acl, "u", "client id").is_ok());
    assert!(allowed(&acl, "u", "select 0").is_ok());
    assert_eq!(
        allowed(&acl, "u", "select 1").unwrap_err().reason,
        Reason::Command
    );
    let err = acl.set_user(b"u", &ops("+client|id|x")).unwrap_err();
    assert!(err.contains("first-arg of a subcommand"), "{err}");
    let err = acl.set_user(b"u", &ops("+nosuch|x")).unwrap_err();
    assert!(err.contains("Unknown command"), "{err}");
    let err = acl.set_user(b"u", &ops("+select|")).unwrap_err();
    assert!(err.contains("Syntax error"), "{err}");
    acl.set_user(b"u", &ops("+@all -client|kill"))
        .expect("rules");
    assert_eq!(commands_of(&acl, "u"), "+@all -client|kill");
}

#[test]
fn key_patterns_with_read_and_write_permissions() {
    let acl = acl();
    acl.set_user(b"u", &ops("on nopass +@all %R~read* %W~write* ~rw*"))
        .expect("rules");
    assert!(allowed(&acl, "u", "get read1").is_ok());
    assert!(allowed(&acl, "u", "set write1 v").is_ok());
    assert!(allowed(&acl, "u", "get rw1").is_ok());
    let denied = allowed(&acl, "u", "set read1 v").unwrap_err();
    assert_eq!((denied.reason, denied.pos), (Reason::Key, 1));
    // EXISTS does not read the value: any matching pattern will do.
    assert!(allowed(&acl, "u", "exists read1 write1").is_ok());
    let err = acl.set_user(b"u", &ops("%X~a")).unwrap_err();
    assert!(err.contains("Syntax error"), "{err}");
}

#[test]
fn selectors_add_alternatives() {
    let acl = acl();
    acl.set_user(b"u", &ops("on nopass +get ~a* (+set ~b*)"))
        .expect("rules");
    assert!(allowed(&acl, "u", "get a1").is_ok());
    assert!(allowed(&acl, "u", "set b1 v").is_ok());
    // Not additive across selectors.
    assert_eq!(
        allowed(&acl, "u", "get b1").unwrap_err().reason,
        Reason::Key
    );
    assert_eq!(
        acl.describe(&acl.get(b"u").expect("user")),
        "user u on nopass ~a* resetchannels -@all +get (~b* resetchannels -@all +set)"
    );
    let err = acl.set_user(b"u", &ops("(+get ~x")).unwrap_err();
    assert_eq!(err, crate::error::msg::acl_unmatched_parenthesis(b"(+get"));
}

#[test]
fn channels_and_passwords() {
    let acl = acl();
    acl.set_user(b"u", &ops("on >secret resetchannels &news.* +@all ~*"))
        .expect("rules");
    assert!(acl.authenticate(b"u", b"secret").is_some());
    assert!(acl.authenticate(b"u", b"wrong").is_none());
    assert!(allowed(&acl, "u", "publish news.a m").is_ok());
    assert_eq!(
        allowed(&acl, "u", "subscribe news.a other").unwrap_err(),
        Denied {
            reason: Reason::Channel,
            pos: 2
        }
    );
    // A PSUBSCRIBE pattern must be granted literally.
    assert!(allowed(&acl, "u", "psubscribe news.*").is_ok());
    assert!(allowed(&acl, "u", "psubscribe news.a*").is_err());
    let err = acl.set_user(b"u", &ops("&*  &x")).unwrap_err();
    assert!(err.contains("allchannels"), "{err}");
    let err = acl.set_user(b"u", &ops("#abc")).unwrap_err();
    assert!(err.contains("64 characters"), "{err}");
    let err = acl.set_user(b"u", &ops("<nothere")).unwrap_err();
    assert!(err.contains("does not exist"), "{err}");
}

#[test]
fn a_failed_setuser_changes_nothing() {
    let acl = acl();
    acl.set_user(b"u", &ops("on nopass +get")).expect("rules");
    assert!(acl.set_user(b"u", &ops("+set +nosuchcommand")).is_err());
    assert_eq!(commands_of(&acl, "u"), "-@all +get");
    assert!(acl.set_user(b"v", &ops("+nosuchcommand")).is_err());
    assert!(acl.get(b"v").is_none());
}

#[test]
fn merge_joins_spread_selectors() {
    let merged = merge_selector_args(&ops("on (+get ~a) (+set ~b ~c) off")).expect("merged");
    let merged: Vec<String> = merged
        .iter()
        .map(|m| String::from_utf8_lossy(m).into_owned())
        .collect();
    assert_eq!(merged, ["on", "(+get ~a)", "(+set ~b ~c)", "off"]);
}

#[test]
fn an_acl_file_round_trips_and_loads_all_or_nothing() {
    let acl = acl();
    let dir = std::env::temp_dir().join(format!("cinnabar-acl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("users.acl");
    let path = path.to_str().expect("utf-8 path");
    acl.set_user(b"alice", &ops("on >pw ~queue:* &events.* -@all +lpush"))
        .expect("rules");
    acl.save_file(path).expect("saved");
    let saved = std::fs::read_to_string(path).expect("read");
    assert!(saved.contains("user alice on #"), "{saved}");
    let fresh = super::Acl::new(&CommandTable::new());
    fresh.load_file(path).expect("loads");
    assert_eq!(
        fresh.describe(&fresh.get(b"alice").expect("alice")),
        acl.describe(&acl.get(b"alice").expect("alice"))
    );
    std::fs::write(path, "user bob on +nosuchcmd\nuser bob off\n").expect("write");
    let err = fresh.load_file(path).unwrap_err();
    assert!(
        err.contains("Error in applying operation '+nosuchcmd'"),
        "{err}"
    );
    assert!(err.contains("Duplicate user 'bob'"), "{err}");
    assert!(fresh.get(b"alice").is_some(), "nothing changed");
    let _ = std::fs::remove_dir_all(&dir);
}
