// A small JSON DOM for OCI documents. It round-trips what it reads: object key
// order and duplicate keys are kept, and numbers keep their literal text, so a
// document we did not mean to change is re-emitted byte for byte (when it was
// compact to begin with) and its digest stays the same.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace olot::json {

struct Member;

// One alternative per type, so a value costs 40 bytes: large manifests and
// configs (SPEC §11 bounds RSS for 4 MiB of JSON) are mostly small objects.
class Value {
 public:
  enum class Type { null, boolean, number, string, array, object };

  static Value make_null();
  static Value make_bool(bool b);
  static Value make_number(std::string literal);  // literal must be a valid JSON number
  static Value make_string(std::string s);
  static Value make_array();
  static Value make_object();
  static Value make_uint(uint64_t n);

  Type type() const { return static_cast<Type>(data_.index()); }
  bool is_object() const { return type() == Type::object; }
  bool is_array() const { return type() == Type::array; }
  bool is_string() const { return type() == Type::string; }
  bool is_number() const { return type() == Type::number; }
  bool is_null() const { return type() == Type::null; }

  // The const accessors give false / empty for another type; the others
  // throw olot::Error(Exit::software) for another type.
  bool flag() const;                      // boolean
  const std::string& text() const;        // number: literal as written; string: decoded UTF-8
  std::string& text();
  const std::vector<Value>& items() const;  // array
  std::vector<Value>& items();
  const std::vector<Member>& members() const;  // object, in document order
  std::vector<Member>& members();

  // First member with this key; nullptr if there is none or this is not an object.
  const Value* find(std::string_view key) const;
  Value* find(std::string_view key);
  // find(key) if it is a string, else nullptr.
  const std::string* string_at(std::string_view key) const;
  // The member if it is a non-negative integer literal (no fraction or
  // exponent) that fits uint64_t, else nullopt.
  std::optional<uint64_t> uint_at(std::string_view key) const;
  // Replaces the first member with this key in place, or appends; returns the stored value.
  Value& set(std::string key, Value v);
  // Removes all members with this key; true if there were any.
  bool erase(std::string_view key);
  void push_back(Value v);

 private:
  struct Number {
    std::string literal;
  };
  // In the order of Type.
  std::variant<std::monostate, bool, Number, std::string, std::vector<Value>, std::vector<Member>> data_;
};

struct Member {
  std::string key;
  Value value;
};

// Bytes of slack a document's string should have beyond its size (reserve
// it) so that parse() reads it in place instead of copying it.
inline constexpr size_t padding = 64;

// Throws olot::Error(Exit::data, "malformed JSON: <what> (<reason>)") unless
// bytes hold exactly one valid JSON value nested at most max_depth containers deep.
Value parse(std::string_view bytes, std::string_view what, size_t max_depth = 512);
Value parse(const std::string& bytes, std::string_view what, size_t max_depth = 512);
inline Value parse(const char* bytes, std::string_view what, size_t max_depth = 512) {
  return parse(std::string_view(bytes), what, max_depth);
}

// Compact JSON: no insignificant whitespace, no trailing newline.
std::string dump(const Value& v);
void dump(const Value& v, std::string& out);  // appends

}  // namespace olot::json
