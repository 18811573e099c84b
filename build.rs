//! Compiles Redis 7.0.15's own Lua 5.1 (`vendor/redis-lua`: Lua with
//! Redis's patches, plus the cjson, cmsgpack, struct and bit libraries it
//! links in), with Redis's flags. mlua runs in `module` mode and finds these
//! symbols in the final binary, so scripts run on exactly Redis's Lua.

fn main() {
    let dir = std::path::Path::new("vendor/redis-lua");
    let mut build = cc::Build::new();
    build
        .include(dir)
        // Redis's deps/Makefile flags for Lua.
        .define("ENABLE_CJSON_GLOBAL", None)
        .define("REDIS_STATIC", Some(""))
        .define("LUA_ANSI", None)
        .define("LUA_USE_MKSTEMP", None)
        .opt_level(2)
        // Lua 5.1 checks for signed overflow after the fact (`unpack`'s
        // `n <= 0`); without wrapping semantics the optimiser may drop the
        // check and a script crashes the server.
        .flag_if_supported("-fwrapv")
        .warnings(false);
    let mut sources: Vec<_> = std::fs::read_dir(dir)
        .expect("vendor/redis-lua exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "c"))
        .collect();
    sources.sort();
    for src in &sources {
        build.file(src);
        println!("cargo:rerun-if-changed={}", src.display());
    }
    println!("cargo:rerun-if-changed=build.rs");
    build.compile("redis_lua");
}
