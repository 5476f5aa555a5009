// libFuzzer target: json::parse and json::dump (SPEC §7).
//
// For any input: parse either throws olot::Error(Exit::data) or returns a
// value; then dump(value) must parse again, and dumping that second value
// must give the same bytes (parse(dump(parse(x))) == parse(x), compared as
// dumps). A dump is compact, so it is also a fixed point of parse+dump.
// Number literals must survive verbatim. Differential check against
// simdjson's DOM parser (which validates everything eagerly): what we accept
// it must accept (save for numbers it cannot represent), and what it accepts
// we must accept (save for our depth limit). Anything else — a crash, another
// exception, a sanitizer report — is a finding.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <typeinfo>

#include <simdjson.h>

#include "olot/error.h"
#include "olot/json.h"

namespace {

[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "json_fuzz: FINDING: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

// Every number literal of v, in document order, appended to out.
void numbers(const olot::json::Value& v, std::string& out) {
  using T = olot::json::Value::Type;
  if (v.type() == T::number) out += v.text() + " ";
  for (const auto& item : v.items()) numbers(item, out);
  for (const auto& m : v.members()) numbers(m.value, out);
}

// simdjson's DOM verdict: SUCCESS or the error.
simdjson::error_code dom_verdict(std::string_view input) {
  static simdjson::dom::parser parser;
  simdjson::padded_string padded(input);
  return parser.parse(padded).error();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t depth = size % 2 ? 8 : 512;
  simdjson::error_code dom = dom_verdict(input);
  olot::json::Value first;
  try {
    // A small depth limit as well as the default, so the limit's edge is reached.
    first = olot::json::parse(input, "fuzz", depth);
  } catch (const olot::Error& e) {
    if (e.code() != olot::Exit::data) finding(std::string("parse threw a non-data Error: ") + e.what());
    std::string why = e.what();
    if (dom == simdjson::SUCCESS && why.find("nesting deeper") == std::string::npos)
      finding("rejected JSON that simdjson's DOM parser accepts: " + why);
    return 0;
  } catch (const std::exception& e) {
    finding(std::string("parse threw ") + typeid(e).name() + ": " + e.what());
  }
  if (dom != simdjson::SUCCESS && dom != simdjson::NUMBER_ERROR && dom != simdjson::NUMBER_OUT_OF_RANGE &&
      dom != simdjson::DEPTH_ERROR)
    finding(std::string("accepted JSON that simdjson's DOM parser rejects: ") + simdjson::error_message(dom));
  std::string dumped = olot::json::dump(first);
  olot::json::Value second;
  try {
    second = olot::json::parse(dumped, "fuzz-dump", 512);
  } catch (const std::exception& e) {
    finding(std::string("dump output does not parse: ") + e.what() + "\n" + dumped.substr(0, 2000));
  }
  std::string redumped = olot::json::dump(second);
  if (redumped != dumped) finding("parse(dump(parse(x))) differs from parse(x):\n" + dumped.substr(0, 2000) + "\n" + redumped.substr(0, 2000));
  std::string n1, n2;
  numbers(first, n1);
  numbers(second, n2);
  if (n1 != n2) finding("number literals changed");
  return 0;
}
