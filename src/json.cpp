#include "olot/json.h"

#include <simdjson.h>

#include <charconv>
#include <utility>

#include "olot/error.h"

namespace olot::json {

Value Value::make_null() { return Value{}; }

Value Value::make_bool(bool b) {
  Value v;
  v.type = Type::boolean;
  v.flag = b;
  return v;
}

Value Value::make_number(std::string literal) {
  Value v;
  v.type = Type::number;
  v.text = std::move(literal);
  return v;
}

Value Value::make_string(std::string s) {
  Value v;
  v.type = Type::string;
  v.text = std::move(s);
  return v;
}

Value Value::make_array() {
  Value v;
  v.type = Type::array;
  return v;
}

Value Value::make_object() {
  Value v;
  v.type = Type::object;
  return v;
}

Value Value::make_uint(uint64_t n) { return make_number(std::to_string(n)); }

const Value* Value::find(std::string_view key) const {
  if (!is_object()) return nullptr;
  for (const Member& m : members)
    if (m.key == key) return &m.value;
  return nullptr;
}

Value* Value::find(std::string_view key) {
  return const_cast<Value*>(std::as_const(*this).find(key));
}

const std::string* Value::string_at(std::string_view key) const {
  const Value* v = find(key);
  return v && v->is_string() ? &v->text : nullptr;
}

std::optional<uint64_t> Value::uint_at(std::string_view key) const {
  const Value* v = find(key);
  if (!v || !v->is_number() || v->text.empty()) return std::nullopt;
  // from_chars rejects a sign for unsigned types and stops at '.', 'e' or 'E',
  // so "all characters consumed" means a plain non-negative integer.
  const char* end = v->text.data() + v->text.size();
  uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(v->text.data(), end, n);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return n;
}

Value& Value::set(std::string key, Value v) {
  // Callers building documents by hand would otherwise lose members silently:
  // dump() ignores members of a non-object.
  if (!is_object()) throw Error(Exit::software, "json: set(\"" + key + "\") on a non-object");
  if (Value* existing = find(key)) return *existing = std::move(v);
  members.push_back({std::move(key), std::move(v)});
  return members.back().value;
}

bool Value::erase(std::string_view key) {
  return std::erase_if(members, [&](const Member& m) { return m.key == key; }) > 0;
}

void Value::push_back(Value v) {
  if (!is_array()) throw Error(Exit::software, "json: push_back() on a non-array");
  items.push_back(std::move(v));
}

namespace {

namespace od = simdjson::ondemand;

// For error messages: a bad token can run on to the next comma or bracket.
std::string quoted_prefix(std::string_view token) {
  constexpr size_t limit = 40;
  return "'" + std::string(token.substr(0, limit)) + (token.size() > limit ? "...'" : "'");
}

std::string_view trim_whitespace(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// RFC 8259 number grammar. We check the literal ourselves rather than through
// simdjson's get_double(), which rejects valid literals it cannot represent
// (1e400, exponents of 20+ digits) and which we would not use anyway: the
// literal text is what we keep.
bool is_number_literal(std::string_view s) {
  size_t i = 0;
  auto digits = [&] {
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i > start;
  };
  if (i < s.size() && s[i] == '-') ++i;
  if (i < s.size() && s[i] == '0')
    ++i;
  else if (!digits())
    return false;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == s.size();
}

class Reader {
 public:
  Reader(std::string_view what, size_t max_depth) : what_(what), max_depth_(max_depth) {}

  [[noreturn]] void fail(std::string_view reason) const {
    throw Error(Exit::data, "malformed JSON: " + std::string(what_) + " (" + std::string(reason) + ")");
  }

  void check(simdjson::error_code e) const {
    if (e != simdjson::SUCCESS) fail(simdjson::error_message(e));
  }

  template <typename T>
  T get(simdjson::simdjson_result<T>&& result) const {
    T out{};
    check(std::move(result).get(out));
    return out;
  }

  // Scalars at the top level are a special case in simdjson's On-Demand API:
  // they cannot be turned into an od::value, only read through the document.
  Value document(od::document& doc) {
    Value root;
    switch (get(doc.type())) {
      case od::json_type::array:
      case od::json_type::object:
        root = value(get(doc.get_value()), 0);
        break;
      case od::json_type::number:
        // Unlike raw_json_token(), raw_json() consumes the token, which the
        // end-of-document check below relies on.
        root = number(get(doc.raw_json()));
        break;
      case od::json_type::string:
        root = Value::make_string(std::string(get(doc.get_string())));
        break;
      case od::json_type::boolean: {
        // get_bool()/is_null() on a root scalar fail when whitespace
        // follows it (simdjson 3.0.1): check the word, consume the token.
        std::string_view token = trim_whitespace(get(doc.raw_json_token()));
        if (token != "true" && token != "false") fail("invalid literal " + quoted_prefix(token));
        root = Value::make_bool(token == "true");
        get(doc.raw_json());
        break;
      }
      case od::json_type::null:
        literal(get(doc.raw_json_token()), "null");
        get(doc.raw_json());
        break;
    }
    // simdjson 3.0 has no document::at_end(); current_location() reports
    // OUT_OF_BOUNDS exactly when every token has been consumed.
    if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) fail("trailing content after the JSON value");
    return root;
  }

 private:
  // depth counts the containers enclosing v. The limit is ours to enforce:
  // On-Demand only checks max_depth in development builds of simdjson.
  Value value(od::value v, size_t depth) {
    switch (get(v.type())) {
      case od::json_type::array: {
        if (depth >= max_depth_) fail("nesting deeper than " + std::to_string(max_depth_));
        Value out = Value::make_array();
        for (auto item : get(v.get_array())) out.items.push_back(value(get(std::move(item)), depth + 1));
        return out;
      }
      case od::json_type::object: {
        if (depth >= max_depth_) fail("nesting deeper than " + std::to_string(max_depth_));
        Value out = Value::make_object();
        for (auto item : get(v.get_object())) {
          od::field field = get(std::move(item));
          // The key view points into the parser's string buffer: copy it
          // before reading the value overwrites that.
          std::string key(get(field.unescaped_key()));
          Value member = value(field.value(), depth + 1);
          out.members.push_back({std::move(key), std::move(member)});
        }
        return out;
      }
      case od::json_type::number:
        return number(v.raw_json_token());
      case od::json_type::string:
        return Value::make_string(std::string(get(v.get_string())));
      case od::json_type::boolean: {
        std::string_view token = v.raw_json_token();
        bool b = get(v.get_bool());
        literal(token, b ? "true" : "false");
        return Value::make_bool(b);
      }
      case od::json_type::null:
        literal(v.raw_json_token(), "null");
        if (!get(v.is_null())) fail("expected null");
        return Value::make_null();
    }
    fail("unknown value type");
  }

  // A raw token runs up to the next token, so it carries trailing whitespace.
  Value number(std::string_view token) {
    token = trim_whitespace(token);
    if (!is_number_literal(token)) fail("invalid number " + quoted_prefix(token));
    return Value::make_number(std::string(token));
  }

  // simdjson 3.0.1's literal checks are lenient in places (a top-level
  // "nully " passes is_null()), so insist on the exact word.
  void literal(std::string_view token, std::string_view word) const {
    token = trim_whitespace(token);
    if (token != word) fail("invalid literal " + quoted_prefix(token));
  }

  std::string_view what_;
  size_t max_depth_;
};

void dump_string(std::string_view s, std::string& out) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 0xf];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

}  // namespace

Value parse(std::string_view bytes, std::string_view what, size_t max_depth) {
  Reader reader(what, max_depth);
  simdjson::padded_string padded(bytes);
  od::parser parser;
  // simdjson counts the document itself as one level above the root value.
  reader.check(parser.allocate(padded.size(), max_depth + 1));
  od::document doc = reader.get(parser.iterate(padded));
  return reader.document(doc);
}

void dump(const Value& v, std::string& out) {
  switch (v.type) {
    case Value::Type::null: out += "null"; break;
    case Value::Type::boolean: out += v.flag ? "true" : "false"; break;
    case Value::Type::number: out += v.text; break;
    case Value::Type::string: dump_string(v.text, out); break;
    case Value::Type::array: {
      out += '[';
      for (size_t i = 0; i < v.items.size(); ++i) {
        if (i) out += ',';
        dump(v.items[i], out);
      }
      out += ']';
      break;
    }
    case Value::Type::object: {
      out += '{';
      for (size_t i = 0; i < v.members.size(); ++i) {
        if (i) out += ',';
        dump_string(v.members[i].key, out);
        out += ':';
        dump(v.members[i].value, out);
      }
      out += '}';
      break;
    }
  }
}

std::string dump(const Value& v) {
  std::string out;
  dump(v, out);
  return out;
}

}  // namespace olot::json
