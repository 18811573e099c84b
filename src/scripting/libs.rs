//! The C libraries Redis links into its Lua (cjson, struct, cmsgpack, bit),
//! compiled from Redis's own sources by `build.rs` (`vendor/redis-lua`).

use std::os::raw::c_int;

use mlua::{ffi, Lua, Value};

extern "C-unwind" {
    fn luaopen_cjson(l: *mut ffi::lua_State) -> c_int;
    fn luaopen_struct(l: *mut ffi::lua_State) -> c_int;
    fn luaopen_cmsgpack(l: *mut ffi::lua_State) -> c_int;
    fn luaopen_bit(l: *mut ffi::lua_State) -> c_int;
}

/// Opens each library as Redis's luaLoadLibraries does, in its order, and
/// makes it a global of that name.
pub fn open(lua: &Lua) -> mlua::Result<()> {
    let libs: [(&str, ffi::lua_CFunction); 4] = [
        ("cjson", luaopen_cjson),
        ("struct", luaopen_struct),
        ("cmsgpack", luaopen_cmsgpack),
        ("bit", luaopen_bit),
    ];
    let globals = lua.globals();
    for (name, open) in libs {
        // SAFETY: each is a lua_CFunction from Redis's sources, built
        // against the same Lua 5.1 headers as the state that calls it.
        let open = unsafe { lua.create_c_function(open)? };
        let lib: Value = open.call(name)?;
        if let Value::Table(t) = lib {
            globals.raw_set(name, t)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use mlua::{Lua, LuaOptions, StdLib};

    fn lua() -> Lua {
        let lua = Lua::new_with(
            StdLib::TABLE | StdLib::STRING | StdLib::MATH,
            LuaOptions::default(),
        )
        .expect("lua state");
        super::open(&lua).expect("libraries open");
        lua
    }

    #[test]
    fn cjson_round_trips_as_redis_s() {
        let lua = lua();
        let s: String = lua
            .load(r#"return cjson.encode(cjson.decode('{"a":[1,2,3.5],"b":"x"}').a)"#)
            .eval()
            .expect("cjson");
        assert_eq!(s, "[1,2,3.5]");
        let empty: String = lua.load("return cjson.encode({})").eval().expect("cjson");
        assert_eq!(empty, "{}");
    }

    #[test]
    fn cmsgpack_struct_and_bit_work() {
        let lua = lua();
        let n: i64 = lua
            .load("return cmsgpack.unpack(cmsgpack.pack({1,2,300}))[3]")
            .eval()
            .expect("cmsgpack");
        assert_eq!(n, 300);
        let packed: mlua::String = lua
            .load("return struct.pack('>I2', 258)")
            .eval()
            .expect("struct");
        assert_eq!(&packed.as_bytes()[..], &[1u8, 2][..]);
        let x: i64 = lua.load("return bit.band(0xff, 0x0f)").eval().expect("bit");
        assert_eq!(x, 15);
        let hex: String = lua.load("return bit.tohex(65535)").eval().expect("bit");
        assert_eq!(hex, "0000ffff");
    }
}
