#include "olot/json.h"

#include <simdjson.h>

#include <charconv>
#include <deque>
#include <iterator>
#include <utility>

#include "olot/error.h"

namespace olot::json {

Value Value::make_null() { return Value{}; }

Value Value::make_bool(bool b) {
  Value v;
  v.data_ = b;
  return v;
}

Value Value::make_number(std::string literal) {
  Value v;
  v.data_ = Number{std::move(literal)};
  return v;
}

Value Value::make_string(std::string s) {
  Value v;
  v.data_ = std::move(s);
  return v;
}

Value Value::make_array() {
  Value v;
  v.data_ = std::vector<Value>{};
  return v;
}

Value Value::make_object() {
  Value v;
  v.data_ = std::vector<Member>{};
  return v;
}

Value Value::make_uint(uint64_t n) { return make_number(std::to_string(n)); }

namespace {

[[noreturn]] void wrong_type(const char* wanted) {
  throw Error(Exit::software, std::string("json: the value is not ") + wanted);
}

// The alternative T of a value's variant, or an empty T.
template <typename T, typename Variant>
const T& held_or_empty(const Variant& data) {
  static const T none{};
  const T* held = std::get_if<T>(&data);
  return held ? *held : none;
}

template <typename T, typename Variant>
T& held_or_throw(Variant& data, const char* wanted) {
  if (T* held = std::get_if<T>(&data)) return *held;
  wrong_type(wanted);
}

}  // namespace

bool Value::flag() const { return held_or_empty<bool>(data_); }

const std::string& Value::text() const {
  if (const auto* n = std::get_if<Number>(&data_)) return n->literal;
  return held_or_empty<std::string>(data_);
}

std::string& Value::text() {
  if (auto* n = std::get_if<Number>(&data_)) return n->literal;
  return held_or_throw<std::string>(data_, "a number or a string");
}

const std::vector<Value>& Value::items() const { return held_or_empty<std::vector<Value>>(data_); }
std::vector<Value>& Value::items() { return held_or_throw<std::vector<Value>>(data_, "an array"); }
const std::vector<Member>& Value::members() const { return held_or_empty<std::vector<Member>>(data_); }
std::vector<Member>& Value::members() { return held_or_throw<std::vector<Member>>(data_, "an object"); }

const Value* Value::find(std::string_view key) const {
  for (const Member& m : members())
    if (m.key == key) return &m.value;
  return nullptr;
}

Value* Value::find(std::string_view key) {
  return const_cast<Value*>(std::as_const(*this).find(key));
}

const std::string* Value::string_at(std::string_view key) const {
  const Value* v = find(key);
  return v && v->is_string() ? &v->text() : nullptr;
}

std::optional<uint64_t> Value::uint_at(std::string_view key) const {
  const Value* v = find(key);
  if (!v || !v->is_number() || v->text().empty()) return std::nullopt;
  // from_chars rejects a sign for unsigned types and stops at '.', 'e' or 'E',
  // so "all characters consumed" means a plain non-negative integer.
  const std::string& literal = v->text();
  const char* end = literal.data() + literal.size();
  uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(literal.data(), end, n);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return n;
}

Value& Value::set(std::string key, Value v) {
  // Callers building documents by hand would otherwise lose members silently:
  // dump() ignores members of a non-object.
  if (!is_object()) throw Error(Exit::software, "json: set(\"" + key + "\") on a non-object");
  if (Value* existing = find(key)) return *existing = std::move(v);
  members().push_back({std::move(key), std::move(v)});
  return members().back().value;
}

bool Value::erase(std::string_view key) {
  if (!is_object()) return false;
  return std::erase_if(members(), [&](const Member& m) { return m.key == key; }) > 0;
}

void Value::push_back(Value v) {
  if (!is_array()) throw Error(Exit::software, "json: push_back() on a non-array");
  items().push_back(std::move(v));
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
        std::vector<Value>& scratch = scratch_at(item_scratch_, depth);
        for (auto item : get(v.get_array())) scratch.push_back(value(get(std::move(item)), depth + 1));
        Value out = Value::make_array();
        move_exactly(scratch, out.items());
        return out;
      }
      case od::json_type::object: {
        if (depth >= max_depth_) fail("nesting deeper than " + std::to_string(max_depth_));
        std::vector<Member>& scratch = scratch_at(member_scratch_, depth);
        for (auto item : get(v.get_object())) {
          od::field field = get(std::move(item));
          auto plain = without_escapes(field.key().raw());
          // An unescaped key points into the parser's string buffer: copy
          // it before reading the value overwrites that.
          std::string key(plain ? *plain : get(field.unescaped_key()));
          Value member = value(field.value(), depth + 1);
          scratch.push_back({std::move(key), std::move(member)});
        }
        Value out = Value::make_object();
        move_exactly(scratch, out.members());
        return out;
      }
      case od::json_type::number:
        return number(v.raw_json_token());
      case od::json_type::string: {
        auto plain = without_escapes(v.raw_json_token().data() + 1);  // past the opening quote
        if (!plain) return Value::make_string(std::string(get(v.get_string())));
        // Consumed, not skipped: skipping an unread value would let the
        // enclosing container accept what follows it, as in ["a":1].
        get(v.get_raw_json_string());
        return Value::make_string(std::string(*plain));
      }
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

  // A string's content, read straight from the input, when it has no escape
  // (nearly every string does): get_string() and unescaped_key() would copy
  // each into the parser's string buffer first, which then grows to the
  // document's total string length and adds that to the peak (SPEC §11).
  // Stage 1 has checked the document's UTF-8, its control characters and
  // that every string is closed.
  static std::optional<std::string_view> without_escapes(const char* content) {
    const char* end = content;
    while (*end != '"' && *end != '\\') ++end;
    if (*end == '\\') return std::nullopt;
    return std::string_view(content, static_cast<size_t>(end - content));
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

  // A container's elements are gathered in a scratch vector of its depth,
  // then moved into one allocated to size: vectors grown by doubling left a
  // third of a large document's tree unused.
  template <typename T>
  static std::vector<T>& scratch_at(std::deque<std::vector<T>>& scratch, size_t depth) {
    if (scratch.size() <= depth) scratch.resize(depth + 1);
    return scratch[depth];  // a deque's elements stay put as it grows
  }

  template <typename T>
  static void move_exactly(std::vector<T>& scratch, std::vector<T>& out) {
    out.reserve(scratch.size());
    std::move(scratch.begin(), scratch.end(), std::back_inserter(out));
    scratch.clear();
  }

  std::string_view what_;
  size_t max_depth_;
  std::deque<std::vector<Value>> item_scratch_;
  std::deque<std::vector<Member>> member_scratch_;
};

// Counts what dump() would append, so the output is allocated once, to size:
// a string grown by doubling while dumping a 2 MiB manifest peaked at 6 MiB.
struct Counter {
  size_t size = 0;
  Counter& operator+=(char) {
    ++size;
    return *this;
  }
  Counter& operator+=(std::string_view s) {
    size += s.size();
    return *this;
  }
};

template <typename Out>
void emit_string(std::string_view s, Out& out) {
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

Value parse_padded(simdjson::padded_string_view padded, std::string_view what, size_t max_depth) {
  Reader reader(what, max_depth);
  od::parser parser;
  // simdjson counts the document itself as one level above the root value.
  reader.check(parser.allocate(padded.length(), max_depth + 1));
  od::document doc = reader.get(parser.iterate(padded));
  return reader.document(doc);
}

}  // namespace

static_assert(padding >= simdjson::SIMDJSON_PADDING);

Value parse(std::string_view bytes, std::string_view what, size_t max_depth) {
  simdjson::padded_string padded(bytes);
  return parse_padded(padded, what, max_depth);
}

Value parse(const std::string& bytes, std::string_view what, size_t max_depth) {
  if (bytes.capacity() - bytes.size() < simdjson::SIMDJSON_PADDING) return parse(std::string_view(bytes), what, max_depth);
  return parse_padded(simdjson::padded_string_view(bytes.data(), bytes.size(), bytes.capacity()), what, max_depth);
}

namespace {

template <typename Out>
void emit(const Value& v, Out& out) {
  switch (v.type()) {
    case Value::Type::null: out += "null"; break;
    case Value::Type::boolean: out += v.flag() ? "true" : "false"; break;
    case Value::Type::number: out += v.text(); break;
    case Value::Type::string: emit_string(v.text(), out); break;
    case Value::Type::array: {
      out += '[';
      const auto& items = v.items();
      for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += ',';
        emit(items[i], out);
      }
      out += ']';
      break;
    }
    case Value::Type::object: {
      out += '{';
      const auto& members = v.members();
      for (size_t i = 0; i < members.size(); ++i) {
        if (i) out += ',';
        emit_string(members[i].key, out);
        out += ':';
        emit(members[i].value, out);
      }
      out += '}';
      break;
    }
  }
}

}  // namespace

void dump(const Value& v, std::string& out) {
  Counter counter;
  emit(v, counter);
  out.reserve(out.size() + counter.size);
  emit(v, out);
}

std::string dump(const Value& v) {
  std::string out;
  dump(v, out);
  return out;
}

}  // namespace olot::json
