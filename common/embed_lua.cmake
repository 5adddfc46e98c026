# Turns the Lua scripts into a C source with one NUL-terminated byte array per script, so the
# binaries carry their scripts and no file has to be found at run time.
set(out "/* Generated from common/lua by embed_lua.cmake: do not edit. */\n")
string(REPLACE "," ";" SCRIPTS "${SCRIPTS}")
foreach(name IN LISTS SCRIPTS)
  file(READ "${SRC_DIR}/lua/${name}.lua" hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(APPEND out "const char rfq_lua_${name}[] = {${bytes}0x00};\n")
endforeach()
file(WRITE "${OUT}" "${out}")
