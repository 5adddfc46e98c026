# Turns the dashboard's files into a C header with one NUL-terminated static byte array per
# file (index.html -> req_dash_index_html), so rfq-requester carries its dashboard and reads
# no file at run time. Run with -DFILES=a,b -DSRC_DIR=<dir> -DOUT=<header> (cmake -P).
set(out "/* Generated from requester/dashboard by embed_dashboard.cmake: do not edit. */\n")
string(APPEND out "#ifndef REQ_DASHBOARD_FILES_H\n#define REQ_DASHBOARD_FILES_H\n")
string(REPLACE "," ";" FILES "${FILES}")
string(REPEAT "0x..," 32 line) # CMake regexes have no {n} repetition
foreach(name IN LISTS FILES)
  file(READ "${SRC_DIR}/${name}" hex HEX)
  string(MAKE_C_IDENTIFIER "${name}" id)
  # 32 bytes per line keeps the generated source readable in a compiler error.
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(REGEX REPLACE "(${line})" "\\1\n    " bytes "${bytes}")
  string(APPEND out "static const unsigned char req_dash_${id}[] = {\n    ${bytes}0x00};\n")
endforeach()
string(APPEND out "#endif\n")
file(WRITE "${OUT}" "${out}")
