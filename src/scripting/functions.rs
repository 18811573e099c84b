//! Function libraries (Redis 7.0's functions.c): the registry FUNCTION LOAD
//! fills and FCALL reads, shared by every thread.
//!
//! A library is kept as the code it was loaded from plus what loading it
//! registered (function names, descriptions, flags). Each thread compiles
//! the libraries into its own Lua state when it first needs them after a
//! change (`generation`), as it does for EVAL's script cache.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::RwLock;

use super::flags;
use crate::error::msg;

/// What `redis.register_function` registered.
#[derive(Clone, Debug)]
pub struct FunctionInfo {
    pub name: String,
    pub description: Option<Bytes>,
    pub flags: u32,
}

#[derive(Debug)]
pub struct Library {
    pub name: String,
    pub engine: &'static str,
    /// The whole payload FUNCTION LOAD got, shebang included (what FUNCTION
    /// LIST WITHCODE, DUMP and the RDB hold).
    pub code: Bytes,
    pub functions: Vec<FunctionInfo>,
}

/// The libraries by lowercase name, and which library each function (by
/// lowercase name) belongs to. Names are case-insensitive, as in Redis.
#[derive(Default, Clone)]
pub struct Libraries {
    libraries: BTreeMap<String, Arc<Library>>,
    functions: BTreeMap<String, String>,
}

impl Libraries {
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Library>> {
        self.libraries.values()
    }

    pub fn library_count(&self) -> usize {
        self.libraries.len()
    }

    pub fn function_count(&self) -> usize {
        self.functions.len()
    }

    /// The function `name` and its library.
    pub fn function(&self, name: &[u8]) -> Option<(Arc<Library>, FunctionInfo)> {
        let key = String::from_utf8_lossy(name).to_ascii_lowercase();
        let lib = self.libraries.get(self.functions.get(&key)?)?;
        let f = lib
            .functions
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(&key))?;
        Some((lib.clone(), f.clone()))
    }

    fn remove(&mut self, name: &str) -> Option<Arc<Library>> {
        let lib = self.libraries.remove(&name.to_ascii_lowercase())?;
        for f in &lib.functions {
            self.functions.remove(&f.name.to_ascii_lowercase());
        }
        Some(lib)
    }

    /// Adds `lib`; with `replace` a library of the same name goes first.
    /// Nothing changes on an error.
    fn add(&mut self, lib: Library, replace: bool) -> Result<(), String> {
        let key = lib.name.to_ascii_lowercase();
        let old = if self.libraries.contains_key(&key) {
            if !replace {
                return Err(msg::script_err(msg::library_exists(&lib.name)));
            }
            self.remove(&key)
        } else {
            None
        };
        if let Some(clash) = lib
            .functions
            .iter()
            .find(|f| self.functions.contains_key(&f.name.to_ascii_lowercase()))
        {
            let e = msg::script_err(msg::function_exists(&clash.name));
            if let Some(old) = old {
                self.link(old);
            }
            return Err(e);
        }
        self.link(Arc::new(lib));
        Ok(())
    }

    fn link(&mut self, lib: Arc<Library>) {
        let key = lib.name.to_ascii_lowercase();
        for f in &lib.functions {
            self.functions
                .insert(f.name.to_ascii_lowercase(), key.clone());
        }
        self.libraries.insert(key, lib);
    }
}

/// The shared registry.
#[derive(Default)]
pub struct Functions {
    libs: RwLock<Libraries>,
    /// Bumped on every change: threads recompile their libraries.
    generation: AtomicU64,
}

/// How FUNCTION RESTORE treats libraries that already exist.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum RestorePolicy {
    Append,
    Replace,
    Flush,
}

impl Functions {
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// A consistent copy of the registry (cheap: libraries are shared).
    pub fn snapshot(&self) -> Libraries {
        self.libs.read().clone()
    }

    pub fn function(&self, name: &[u8]) -> Option<(Arc<Library>, FunctionInfo)> {
        self.libs.read().function(name)
    }

    fn changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// FUNCTION LOAD: compiles `code` and adds its library; returns its name.
    pub fn load(&self, code: &Bytes, replace: bool, timeout_ms: u64) -> Result<String, String> {
        let lib = compile(code, timeout_ms)?;
        let name = lib.name.clone();
        self.libs.write().add(lib, replace)?;
        self.changed();
        Ok(name)
    }

    /// FUNCTION DELETE.
    pub fn delete(&self, name: &[u8]) -> bool {
        let name = String::from_utf8_lossy(name);
        let removed = self.libs.write().remove(&name).is_some();
        if removed {
            self.changed();
        }
        removed
    }

    /// FUNCTION FLUSH.
    pub fn flush(&self) {
        *self.libs.write() = Libraries::default();
        self.changed();
    }

    /// The code of every library, for the RDB, the AOF rewrite and DUMP.
    pub fn codes(&self) -> Vec<Bytes> {
        self.libs.read().iter().map(|l| l.code.clone()).collect()
    }

    /// Loads libraries from an RDB or a DUMP payload under `policy`: all of
    /// them or none.
    pub fn restore(&self, codes: &[Bytes], policy: RestorePolicy) -> Result<(), String> {
        let mut fresh = Libraries::default();
        for code in codes {
            fresh.add(compile(code, 0)?, false)?;
        }
        let mut libs = self.libs.write();
        if policy == RestorePolicy::Flush {
            *libs = fresh;
        } else {
            let mut joined = libs.clone();
            for lib in fresh.libraries.into_values() {
                if policy == RestorePolicy::Append
                    && joined
                        .libraries
                        .contains_key(&lib.name.to_ascii_lowercase())
                {
                    return Err(msg::library_exists_on_restore(&lib.name));
                }
                let lib = Arc::try_unwrap(lib).unwrap_or_else(|l| Library {
                    name: l.name.clone(),
                    engine: l.engine,
                    code: l.code.clone(),
                    functions: l.functions.clone(),
                });
                joined.add(lib, policy == RestorePolicy::Replace)?;
            }
            *libs = joined;
        }
        drop(libs);
        self.changed();
        Ok(())
    }
}

/// Parses the `#!<engine> name=<library>` line and runs the code to learn
/// its functions (the engine's load context, `super::engine::load_library`).
fn compile(code: &Bytes, timeout_ms: u64) -> Result<Library, String> {
    let (engine, name, body_start) = metadata(code)?;
    if !valid_name(&name) {
        return Err(msg::script_err(msg::LIBRARY_NAME_FORMAT));
    }
    if !engine.eq_ignore_ascii_case("lua") {
        return Err(msg::script_err(msg::engine_not_found(&engine)));
    }
    let functions = super::engine::load_library(&code[body_start..], timeout_ms)?;
    if functions.is_empty() {
        return Err(msg::script_err(msg::NO_FUNCTIONS_REGISTERED));
    }
    Ok(Library {
        name,
        engine: "LUA",
        code: code.clone(),
        functions,
    })
}

/// Redis's functionExtractLibMetaData: engine, library name and where the
/// code after the shebang line starts (at its newline, so line numbers hold).
fn metadata(code: &[u8]) -> Result<(String, String, usize), String> {
    if !code.starts_with(b"#!") {
        return Err(msg::script_err(msg::MISSING_LIBRARY_METADATA));
    }
    let Some(end) = code.iter().position(|&b| b == b'\n') else {
        return Err(msg::script_err(msg::INVALID_LIBRARY_METADATA));
    };
    let parts = match crate::conn::protocol::split_args(&code[..end]) {
        Some(p) if !p.is_empty() => p,
        _ => return Err(msg::script_err(msg::INVALID_LIBRARY_METADATA)),
    };
    let engine = String::from_utf8_lossy(&parts[0][2..]).into_owned();
    let mut name = None;
    for part in &parts[1..] {
        if part.len() >= 5 && part[..5].eq_ignore_ascii_case(b"name=") {
            if name.is_some() {
                return Err(msg::script_err(msg::LIBRARY_NAME_TWICE));
            }
            name = Some(String::from_utf8_lossy(&part[5..]).into_owned());
            continue;
        }
        return Err(msg::script_err(msg::invalid_metadata_value(
            &String::from_utf8_lossy(part),
        )));
    }
    let Some(name) = name else {
        return Err(msg::script_err(msg::LIBRARY_NAME_MISSING));
    };
    Ok((engine, name, end))
}

/// Letters, digits and underscores, at least one (functionsVerifyName).
pub fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `redis.register_function`'s and the shebang's flag names.
pub fn flag_of(name: &str) -> Option<u32> {
    flags::NAMES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, f)| f)
}

// ------------------------------------------------------- DUMP / RESTORE

const OP_FUNCTION2: u8 = 245;
const OP_FUNCTION_PRE_GA: u8 = 246;

/// FUNCTION DUMP's payload: each library as the RDB stores it, then the RDB
/// version and a CRC64, as Redis's DUMP payloads end.
pub fn dump_payload(codes: &[Bytes]) -> Vec<u8> {
    let mut out = Vec::new();
    for code in codes {
        out.push(OP_FUNCTION2);
        crate::persist::rdb::write_string(&mut out, code);
    }
    crate::persist::rdb::seal_payload(&mut out);
    out
}

/// The library codes of a FUNCTION DUMP payload.
pub fn parse_payload(payload: &[u8]) -> Result<Vec<Bytes>, String> {
    let Some(body) = crate::persist::rdb::verify_payload(payload) else {
        return Err(msg::DUMP_PAYLOAD_VERSION_OR_CHECKSUM_ARE.to_string());
    };
    let mut codes = Vec::new();
    let mut pos = 0;
    while pos < body.len() {
        let op = body[pos];
        pos += 1;
        if op == OP_FUNCTION_PRE_GA {
            return Err(msg::script_err(msg::FUNCTION_PAYLOAD_PRE_GA));
        }
        if op != OP_FUNCTION2 {
            return Err(msg::script_err(msg::FUNCTION_PAYLOAD_NOT_FUNCTION));
        }
        let (code, used) = crate::persist::rdb::read_string_at(&body[pos..])
            .map_err(|_| msg::script_err(msg::FUNCTION_PAYLOAD_FAILED))?;
        pos += used;
        codes.push(code);
    }
    Ok(codes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_is_read_as_redis_reads_it() {
        let (engine, name, at) = metadata(b"#!lua name=mylib\nreturn 1").expect("valid");
        assert_eq!((engine.as_str(), name.as_str(), at), ("lua", "mylib", 16));
        let e = |m: &str| msg::script_err(m);
        assert_eq!(
            metadata(b"return 1").unwrap_err(),
            e(msg::MISSING_LIBRARY_METADATA)
        );
        assert_eq!(
            metadata(b"#!lua name=a name=b\n").unwrap_err(),
            e(msg::LIBRARY_NAME_TWICE)
        );
        assert_eq!(
            metadata(b"#!lua foo=bar\n").unwrap_err(),
            e(&msg::invalid_metadata_value("foo=bar"))
        );
        assert_eq!(
            metadata(b"#!lua\n").unwrap_err(),
            e(msg::LIBRARY_NAME_MISSING)
        );
    }

    #[test]
    fn names_are_letters_digits_underscores() {
        assert!(valid_name("lib_1"));
        assert!(!valid_name(""));
        assert!(!valid_name("bad\0name"));
        assert!(!valid_name("a-b"));
    }

    #[test]
    fn payload_round_trips_and_rejects_corruption() {
        let codes = vec![Bytes::from_static(
            b"#!lua name=x\nredis.register_function('f', function() end)",
        )];
        let p = dump_payload(&codes);
        assert_eq!(parse_payload(&p).expect("valid"), codes);
        let mut bad = p.clone();
        bad[3] ^= 1;
        assert!(parse_payload(&bad).is_err());
        assert!(parse_payload(b"").is_err());
    }
}
