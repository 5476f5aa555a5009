#include "olot/json.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <utility>

#include "olot/error.h"

namespace olot::json {
namespace {

std::string round_trip(std::string_view text) { return dump(parse(text, "test")); }

// Asserts parse() throws olot::Error(Exit::data) with the documented message shape.
void expect_malformed(std::string_view text, size_t max_depth = 512) {
  try {
    parse(text, "doc.json", max_depth);
    ADD_FAILURE() << "no error for: " << text.substr(0, 80);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Exit::data) << text.substr(0, 80);
    EXPECT_TRUE(std::string_view(e.what()).starts_with("malformed JSON: doc.json (")) << e.what();
    EXPECT_EQ(std::string_view(e.what()).back(), ')') << e.what();
  }
}

TEST(JsonRoundTrip, CompactManifestIsByteIdentical) {
  const std::string manifest =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
      R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:)"
      R"(44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},)"
      R"("layers":[{"size":1024,"digest":"sha256:aa","mediaType":"x"}],)"
      R"("annotations":{"z":"last-key-first","a":"b","a":"duplicate"}})";
  EXPECT_EQ(round_trip(manifest), manifest);
}

TEST(JsonRoundTrip, NumbersKeepTheirLiteralText) {
  const std::string numbers =
      "[2.50,1e3,-0,1E+2,1e-7,-0.0e-0,0,18446744073709551616,"
      "123456789012345678901234567890,1e400,-1.5E-300]";
  EXPECT_EQ(round_trip(numbers), numbers);
}

TEST(JsonRoundTrip, TopLevelScalars) {
  EXPECT_EQ(round_trip("2.50"), "2.50");
  EXPECT_EQ(round_trip(" -0 \n"), "-0");
  EXPECT_EQ(round_trip("18446744073709551616"), "18446744073709551616");
  EXPECT_EQ(round_trip("\"text\""), "\"text\"");
  EXPECT_EQ(round_trip("true"), "true");
  EXPECT_EQ(round_trip("false "), "false");
  EXPECT_EQ(round_trip("null"), "null");

  Value v = parse("true", "test");
  EXPECT_EQ(v.type(), Value::Type::boolean);
  EXPECT_TRUE(v.flag());
  EXPECT_TRUE(parse("null", "test").is_null());
  EXPECT_TRUE(parse("7", "test").is_number());
  EXPECT_TRUE(parse("\"x\"", "test").is_string());
}

TEST(JsonRoundTrip, EmptyAndNestedContainers) {
  for (std::string_view text : {"{}", "[]", "[[],{}]", R"({"a":{"b":[{}]}})", "[null,true,false]"})
    EXPECT_EQ(round_trip(text), text);
}

TEST(JsonRoundTrip, UnicodeStaysRaw) {
  const std::string text = "{\"name\":\"h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80\"}";
  EXPECT_EQ(round_trip(text), text);
}

TEST(JsonRoundTrip, EscapesDecodeToUtf8AndReencodeRaw) {
  Value v = parse(R"({"k\u00e9y":"\u00e9","pair":"\ud83d\ude00","slash":"\/"})", "test");
  EXPECT_EQ(v.members()[0].key, "k\xc3\xa9y");
  EXPECT_EQ(*v.string_at("k\xc3\xa9y"), "\xc3\xa9");
  EXPECT_EQ(*v.string_at("pair"), "\xf0\x9f\x98\x80");
  EXPECT_EQ(*v.string_at("slash"), "/");
  EXPECT_EQ(dump(v), "{\"k\xc3\xa9y\":\"\xc3\xa9\",\"pair\":\"\xf0\x9f\x98\x80\",\"slash\":\"/\"}");
}

TEST(JsonRoundTrip, KeysAndValuesWithAndWithoutEscapesSideBySide) {
  Value v = parse(R"({"plain":"value","a\"b":"c\\d","":"","e":["","x\u0041y","z"]})", "test");
  ASSERT_EQ(v.members().size(), 4u);
  EXPECT_EQ(*v.string_at("plain"), "value");
  EXPECT_EQ(*v.string_at("a\"b"), "c\\d");
  EXPECT_EQ(*v.string_at(""), "");
  const auto& e = v.find("e")->items();
  EXPECT_EQ(e[0].text(), "");
  EXPECT_EQ(e[1].text(), "xAy");
  EXPECT_EQ(e[2].text(), "z");
}

TEST(JsonRoundTrip, ControlCharactersAndQuotes) {
  const std::string text = R"(["\"\\","\b\f\n\r\t","\u0001\u001f","\u0000"])";
  Value v = parse(text, "test");
  EXPECT_EQ(v.items()[0].text(), "\"\\");
  EXPECT_EQ(v.items()[1].text(), "\b\f\n\r\t");
  EXPECT_EQ(v.items()[2].text(), "\x01\x1f");
  EXPECT_EQ(v.items()[3].text(), std::string(1, '\0'));
  EXPECT_EQ(dump(v), text);
  // Long forms of characters with a short escape come back short.
  EXPECT_EQ(round_trip(R"("\u0008\u000a\u0022\u005c\u001F")"), R"("\b\n\"\\\u001f")");
}

TEST(JsonRoundTrip, PrettyPrintedInputDumpsCompact) {
  const std::string pretty =
      "{\n  \"schemaVersion\" : 2,\r\n\t\"layers\": [\n    { \"size\": 1.50 },\n    [ ]\n  ],\n"
      "  \"empty\": { }\n}\n";
  EXPECT_EQ(round_trip(pretty), R"({"schemaVersion":2,"layers":[{"size":1.50},[]],"empty":{}})");
}

TEST(JsonBuild, FromScratch) {
  Value doc = Value::make_object();
  doc.set("schemaVersion", Value::make_uint(2));
  doc.set("size", Value::make_uint(18446744073709551615u));
  doc.set("ratio", Value::make_number("2.50"));
  Value list = Value::make_array();
  list.push_back(Value::make_string("a\"b"));
  list.push_back(Value::make_bool(false));
  list.push_back(Value::make_null());
  doc.set("list", std::move(list));
  EXPECT_EQ(dump(doc), R"({"schemaVersion":2,"size":18446744073709551615,"ratio":2.50,"list":["a\"b",false,null]})");

  std::string out = "prefix:";
  dump(doc.find("list")->items()[0], out);
  EXPECT_EQ(out, "prefix:\"a\\\"b\"");
}

TEST(JsonBuild, SetReplacesInPlaceOrAppends) {
  Value v = parse(R"({"a":1,"b":2,"a":3})", "test");
  Value& stored = v.set("a", Value::make_string("x"));
  EXPECT_EQ(stored.text(), "x");
  EXPECT_EQ(&stored, &v.members()[0].value);
  EXPECT_EQ(dump(v), R"({"a":"x","b":2,"a":3})");
  Value& appended = v.set("c", Value::make_uint(4));
  EXPECT_EQ(&appended, &v.members().back().value);
  EXPECT_EQ(dump(v), R"({"a":"x","b":2,"a":3,"c":4})");
}

TEST(JsonBuild, EraseRemovesEveryDuplicate) {
  Value v = parse(R"({"a":1,"b":2,"a":3})", "test");
  EXPECT_TRUE(v.erase("a"));
  EXPECT_EQ(dump(v), R"({"b":2})");
  EXPECT_FALSE(v.erase("a"));
  EXPECT_FALSE(v.erase("missing"));
  EXPECT_EQ(dump(v), R"({"b":2})");
}

TEST(JsonBuild, WrongContainerIsAnInternalError) {
  Value array = Value::make_array();
  try {
    array.set("a", Value::make_null());
    ADD_FAILURE() << "set() on an array";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Exit::software);
  }
  Value object = Value::make_object();
  EXPECT_THROW(object.push_back(Value::make_null()), Error);
  EXPECT_FALSE(array.erase("a"));
}

TEST(JsonAccess, FindAndStringAt) {
  Value v = parse(R"({"s":"text","n":5,"s":"second","o":{"x":1}})", "test");
  ASSERT_NE(v.find("s"), nullptr);
  EXPECT_EQ(v.find("s")->text(), "text");  // the first duplicate
  EXPECT_EQ(v.find("missing"), nullptr);
  EXPECT_EQ(*v.string_at("s"), "text");
  EXPECT_EQ(v.string_at("n"), nullptr);
  EXPECT_EQ(v.string_at("o"), nullptr);
  EXPECT_EQ(v.string_at("missing"), nullptr);
  ASSERT_NE(v.find("o")->find("x"), nullptr);

  Value* mutable_n = v.find("n");
  ASSERT_NE(mutable_n, nullptr);
  *mutable_n = Value::make_uint(6);
  EXPECT_EQ(dump(v), R"({"s":"text","n":6,"s":"second","o":{"x":1}})");

  const Value array = parse(R"(["s"])", "test");
  EXPECT_EQ(array.find("s"), nullptr);
  EXPECT_EQ(array.string_at("s"), nullptr);
  EXPECT_EQ(parse("\"s\"", "test").find("s"), nullptr);
}

TEST(JsonAccess, UintAt) {
  Value v = parse(
      R"({"zero":0,"n":42,"max":18446744073709551615,"over":18446744073709551616,)"
      R"("fraction":1.0,"negative":-1,"minus_zero":-0,"exponent":1e3,"string":"5","null":null})",
      "test");
  EXPECT_EQ(v.uint_at("zero"), 0u);
  EXPECT_EQ(v.uint_at("n"), 42u);
  EXPECT_EQ(v.uint_at("max"), 18446744073709551615u);
  for (std::string_view key : {"over", "fraction", "negative", "minus_zero", "exponent", "string", "null", "missing"})
    EXPECT_EQ(v.uint_at(key), std::nullopt) << key;
  EXPECT_EQ(parse("[1]", "test").uint_at("1"), std::nullopt);
}

TEST(JsonErrors, MessageNamesTheDocument) {
  try {
    parse("{", "index.json");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Exit::data);
    EXPECT_TRUE(std::string_view(e.what()).starts_with("malformed JSON: index.json (")) << e.what();
  }
}

TEST(JsonErrors, EmptyAndWhitespaceOnly) {
  expect_malformed("");
  expect_malformed(" \n\t\r ");
}

TEST(JsonErrors, TrailingContent) {
  for (std::string_view text : {"{} x", "{}{}", "[]]", "{}}", "[1]2", "1 2", "\"a\" \"b\"", "\"a\"1", "null null",
                                "true false"})
    expect_malformed(text);
}

TEST(JsonErrors, Truncated) {
  for (std::string_view text : {"{\"a\":", "{\"a\"", "{", "[", "[1,2", "[[]", "\"abc", "{\"a\":[1}"})
    expect_malformed(text);
}

TEST(JsonErrors, BadStructure) {
  for (std::string_view text : {"]", "}", "[1,]", "[,1]", "{\"a\":1,}", "{\"a\" 1}", "{\"a\"}", "{1:2}", "[1 2]",
                                "[\"a\":1]", "{\"a\":1\"b\":2}", "[{}{}]", "{:1}"})
    expect_malformed(text);
}

TEST(JsonErrors, AStringFollowedByAColonOutsideAnObject) {
  // Found by json_fuzz: a string read without unescaping must still be
  // consumed, or the container after it skips the stray ':'.
  expect_malformed(R"([[["digest":]]]])");
  expect_malformed(R"(["a":1])");
  expect_malformed(R"({"a":"b":1})");
  expect_malformed(R"({"a":["b" "c"]})");
}

TEST(JsonErrors, BadLiterals) {
  for (std::string_view text : {"tru", "[tru]", "{\"a\":tru}", "truex", "[true1]", "nul", "nully ", "[nully ]",
                                "[null1]", "fals", "True", "NULL", "undefined", "x"})
    expect_malformed(text);
}

TEST(JsonErrors, BadNumbers) {
  for (std::string_view text : {"01", "[01]", "-01", "1.", "[1.]", "-", "[-]", "+1", ".5", "[1e]", "[1e+]", "0x1",
                                "[1true]", "NaN", "Infinity", "-Infinity", "1.e3"})
    expect_malformed(text);
}

TEST(JsonErrors, BadStrings) {
  expect_malformed("\"\xff\"");
  expect_malformed("[\xff]");
  expect_malformed("{\"\xc3\":1}");   // truncated UTF-8 sequence in a key
  expect_malformed("\"\xed\xa0\x80\"");  // UTF-8-encoded surrogate
  expect_malformed("\"\x01\"");        // unescaped control character
  expect_malformed("[\"a\nb\"]");
  // Strings without escapes are read straight from the input: the same checks hold.
  expect_malformed("{\"a\x01\":1}");
  expect_malformed("{\"a\":\"x\x1fy\"}");
  expect_malformed("{\"a\":[\"ok\",\"\xc3\"]}");
  expect_malformed(R"("\x")");
  expect_malformed(R"("\u12")");
  expect_malformed(R"("\u12g4")");
  expect_malformed("'single'");
}

TEST(JsonErrors, LoneSurrogateEscapes) {
  // simdjson 3.0.1 rejects these rather than substituting U+FFFD.
  expect_malformed(R"("\ud800")");
  expect_malformed(R"("\udc00")");
  expect_malformed(R"(["\ud800\u0041"])");
  expect_malformed(R"({"\ud800":1})");
}

TEST(JsonErrors, DeepNestingFailsCleanly) {
  expect_malformed(std::string(100000, '['));
  expect_malformed(std::string(100000, '[') + std::string(100000, ']'));
  std::string objects;
  for (int i = 0; i < 100000; ++i) objects += "{\"a\":";
  expect_malformed(objects);
}

TEST(JsonErrors, MaxDepthIsTheNumberOfNestedContainers) {
  auto nested = [](size_t n) { return std::string(n, '[') + std::string(n, ']'); };
  EXPECT_EQ(round_trip(nested(512)), nested(512));
  expect_malformed(nested(513));
  EXPECT_EQ(dump(parse("[]", "test", 1)), "[]");
  EXPECT_EQ(dump(parse(R"({"a":1})", "test", 1)), R"({"a":1})");
  expect_malformed("[[]]", 1);
  expect_malformed(R"({"a":{}})", 1);
  EXPECT_EQ(dump(parse("7", "test", 0)), "7");
  expect_malformed("[]", 0);
}

TEST(JsonValue, ConstAccessorsOfAnotherTypeAreEmptyMutableOnesThrow) {
  Value s = Value::make_string("x");
  const Value& cs = s;
  EXPECT_TRUE(cs.items().empty());
  EXPECT_TRUE(cs.members().empty());
  EXPECT_FALSE(cs.flag());
  EXPECT_EQ(cs.find("k"), nullptr);
  EXPECT_FALSE(s.erase("k"));
  Value n = Value::make_null();
  EXPECT_EQ(std::as_const(n).text(), "");
  EXPECT_THROW(s.items(), Error);
  EXPECT_THROW(s.members(), Error);
  EXPECT_THROW(n.text(), Error);
  s.text() = "y";
  EXPECT_EQ(dump(s), R"("y")");
}

TEST(JsonParse, AStringWithPaddingIsReadInPlaceAndGivesTheSameTree) {
  const std::string text = R"({"a":[1,"two",{"b":null}],"c":true})";
  std::string padded;
  padded.reserve(text.size() + padding);
  padded = text;
  std::string tight = text;
  tight.shrink_to_fit();
  EXPECT_EQ(dump(parse(padded, "padded")), text);
  EXPECT_EQ(dump(parse(tight, "tight")), text);
  EXPECT_EQ(dump(parse(std::string_view(text), "view")), text);
}

TEST(JsonParse, ContainersAreAllocatedToSize) {
  std::string text = "[";
  for (int i = 0; i < 1000; ++i) text += std::string(i ? "," : "") + R"({"k":1,"l":2,"m":3})";
  text += "]";
  Value v = parse(text, "big");
  EXPECT_EQ(v.items().capacity(), 1000u);
  EXPECT_EQ(v.items()[0].members().capacity(), 3u);
  EXPECT_EQ(dump(v), text);
}

}  // namespace
}  // namespace olot::json
