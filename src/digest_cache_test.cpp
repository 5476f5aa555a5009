#include "olot/digest_cache.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <functional>
#include <iterator>
#include <thread>

#include "olot/error.h"

namespace olot {
namespace {

namespace fs = std::filesystem;

CacheKey key(uint64_t n) {
  CacheKey k;
  k.device = 2049;
  k.inode = 1000 + n;
  k.size = 4096 * n;
  k.mtime_ns = 1700000000123456789 + static_cast<int64_t>(n);
  k.ctime_ns = -5;  // before 1970: negative values must survive
  k.options = "/models/w" + std::to_string(n) + ".bin\tmtime=1700000000\tzstd";
  return k;
}

CacheEntry entry(uint64_t n) {
  CacheEntry e;
  e.digest = digest_of("layer " + std::to_string(n));
  e.diff_id = digest_of("diff " + std::to_string(n));
  e.content = digest_of("content " + std::to_string(n), DigestAlg::sha512);
  for (size_t i = 0; i < e.check.size(); ++i) e.check[i] = static_cast<unsigned char>(n * 31 + i * 7);
  e.layer_size = 10240 + n;
  return e;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

class DigestCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/olot-cache-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    root_ = pattern;
    dir_ = root_ / "cache";
  }
  void TearDown() override {
    std::error_code ignored;
    fs::permissions(root_, fs::perms::owner_all, ignored);
    fs::remove_all(root_, ignored);
  }

  // Opens the cache and returns what went to stderr.
  std::string open_capturing(std::optional<DigestCache>& cache, size_t max = DigestCache::default_max_entries) {
    ::testing::internal::CaptureStderr();
    cache.emplace(DigestCache::open(dir_, warnings_, max));
    return ::testing::internal::GetCapturedStderr();
  }

  std::string save_capturing(const DigestCache& cache) {
    ::testing::internal::CaptureStderr();
    cache.save(warnings_);
    return ::testing::internal::GetCapturedStderr();
  }

  void save_entries(uint64_t count) {
    auto cache = DigestCache::open(dir_, warnings_);
    for (uint64_t n = 0; n < count; ++n) cache.put(key(n), entry(n));
    cache.save(warnings_);
  }

  void expect_ignored_as_corrupt(const std::string& text, const std::string& reason) {
    fs::create_directories(dir_);
    write_text(dir_ / DigestCache::file_name, text);
    std::optional<DigestCache> cache;
    int before = warnings_.count();
    auto err = open_capturing(cache);
    EXPECT_EQ(err, "olot-filter: warning: ignoring corrupt digest cache: " + (dir_ / DigestCache::file_name).string() +
                       " (" + reason + ")\n");
    EXPECT_EQ(warnings_.count(), before + 1);
    EXPECT_EQ(cache->size(), 0u);
  }

  std::vector<std::string> files_in_dir() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_)) names.push_back(e.path().filename().string());
    return names;
  }

  fs::path root_, dir_;
  Warnings warnings_{0};
};

TEST_F(DigestCacheTest, RoundTripThroughTheFile) {
  save_entries(3);
  std::optional<DigestCache> cache;
  EXPECT_EQ(open_capturing(cache), "");
  EXPECT_EQ(cache->size(), 3u);
  for (uint64_t n = 0; n < 3; ++n) {
    auto found = cache->find(key(n));
    ASSERT_TRUE(found) << n;
    EXPECT_EQ(*found, entry(n));
  }
  EXPECT_EQ(warnings_.count(), 0);
}

TEST_F(DigestCacheTest, MissingDirectoryIsCreatedAndMissingFileIsEmpty) {
  dir_ = root_ / "a" / "b";
  std::optional<DigestCache> cache;
  EXPECT_EQ(open_capturing(cache), "");
  EXPECT_TRUE(fs::is_directory(dir_));
  EXPECT_EQ(cache->size(), 0u);
  EXPECT_FALSE(cache->find(key(0)));
}

TEST_F(DigestCacheTest, AKeyDifferingInAnyFieldMisses) {
  DigestCache cache;
  cache.put(key(1), entry(1));
  ASSERT_TRUE(cache.find(key(1)));
  std::vector<std::function<void(CacheKey&)>> changes = {
      [](CacheKey& k) { ++k.device; },   [](CacheKey& k) { ++k.inode; },    [](CacheKey& k) { ++k.size; },
      [](CacheKey& k) { ++k.mtime_ns; }, [](CacheKey& k) { ++k.ctime_ns; }, [](CacheKey& k) { k.options += "x"; },
  };
  for (size_t i = 0; i < changes.size(); ++i) {
    auto other = key(1);
    changes[i](other);
    EXPECT_FALSE(cache.find(other)) << "field " << i;
  }
}

TEST_F(DigestCacheTest, PutReplacesAnEntry) {
  DigestCache cache;
  cache.put(key(1), entry(1));
  cache.put(key(1), entry(2));
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(*cache.find(key(1)), entry(2));
}

TEST_F(DigestCacheTest, OptionsWithAnyBytesSurvive) {
  auto k = key(1);
  k.options = std::string("a\\b\tc\nd\re\x01\x7f\xff") + '\0' + "\\x41 \u00e9";
  {
    auto cache = DigestCache::open(dir_, warnings_);
    cache.put(k, entry(1));
    cache.save(warnings_);
  }
  auto text = read_text(dir_ / DigestCache::file_name);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 3);  // header, record, end
  auto cache = DigestCache::open(dir_, warnings_);
  ASSERT_TRUE(cache.find(k));
  EXPECT_EQ(warnings_.count(), 0);
}

TEST_F(DigestCacheTest, FileFormat) {
  CacheRecords records = {{key(1), entry(1)}};
  auto text = serialize_cache(records);
  auto first_newline = text.find('\n');
  EXPECT_EQ(text.substr(0, first_newline), "olot-filter-cache v1");
  auto record = text.substr(first_newline + 1, text.find('\n', first_newline + 1) - first_newline - 1);
  EXPECT_EQ(record.substr(0, record.find("\t/models")), "2049\t1001\t4096\t1700000000123456790\t-5");
  EXPECT_NE(record.find("\t/models/w1.bin\\x09mtime=1700000000\\x09zstd\t" + entry(1).digest.str() + "\t"),
            std::string::npos);
  EXPECT_EQ(record.substr(record.size() - 6), "\t10241");
  EXPECT_EQ(text.substr(text.rfind("\nend\t") + 1, 6), "end\t1\t");
  std::string reason;
  auto parsed = parse_cache(text, reason);
  ASSERT_TRUE(parsed) << reason;
  EXPECT_EQ(parsed->size(), 1u);
  EXPECT_TRUE((*parsed)[0].first == key(1));
  EXPECT_TRUE((*parsed)[0].second == entry(1));
}

TEST_F(DigestCacheTest, EmptyCacheRoundTrips) {
  std::string reason;
  auto parsed = parse_cache(serialize_cache({}), reason);
  ASSERT_TRUE(parsed) << reason;
  EXPECT_TRUE(parsed->empty());
}

TEST_F(DigestCacheTest, TruncatedFileIsIgnored) {
  save_entries(3);
  auto text = read_text(dir_ / DigestCache::file_name);
  // Cut everywhere: at a line boundary, inside a record, inside the end line.
  for (size_t cut = 0; cut < text.size(); cut += 7) {
    fs::create_directories(dir_);
    write_text(dir_ / DigestCache::file_name, text.substr(0, cut));
    std::optional<DigestCache> cache;
    auto err = open_capturing(cache);
    EXPECT_NE(err.find("ignoring corrupt digest cache"), std::string::npos) << cut;
    EXPECT_EQ(cache->size(), 0u) << cut;
  }
  auto without_end = text.substr(0, text.rfind("end\t"));
  expect_ignored_as_corrupt(without_end, "truncated: no end line");
  expect_ignored_as_corrupt(text.substr(0, text.size() - 1), "truncated end line");
}

TEST_F(DigestCacheTest, GarbageAndWrongHeaderAreIgnored) {
  expect_ignored_as_corrupt("", "wrong header");
  expect_ignored_as_corrupt(std::string("\x89PNG\r\n\x1a\n garbage \0\xff", 19), "wrong header");
  expect_ignored_as_corrupt("olot-filter-cache v2\nend\t0\t00000000000000000000000000000000\n", "wrong header");
  auto text = serialize_cache({{key(1), entry(1)}});
  expect_ignored_as_corrupt(text + "more\n", "data after the end line");
}

TEST_F(DigestCacheTest, FlippedByteFailsTheChecksum) {
  auto text = serialize_cache({{key(1), entry(1)}});
  // A digest that still parses but is wrong: only the checksum catches it.
  auto at = text.find(entry(1).digest.hex);
  text[at] = text[at] == 'a' ? 'b' : 'a';
  expect_ignored_as_corrupt(text, "checksum mismatch");
}

TEST_F(DigestCacheTest, BadRecordIsReportedWithItsLine) {
  auto record = [](std::string line) {
    std::string text = "olot-filter-cache v1\n" + line + "\n";
    Xxh3Hasher hasher;
    hasher.write(text.data(), text.size());
    auto sum = hasher.finish();
    return text + "end\t1\t" + to_hex(sum.data(), sum.size()) + "\n";
  };
  auto good = serialize_cache({{key(1), entry(1)}});
  auto good_record = good.substr(21, good.find('\n', 21) - 21);
  ASSERT_TRUE([&] {
    std::string reason;
    return parse_cache(record(good_record), reason).has_value();
  }());
  auto replace_field = [&](size_t index, const std::string& value) {
    std::vector<std::string> fields;
    size_t start = 0;
    for (size_t tab; (tab = good_record.find('\t', start)) != std::string::npos; start = tab + 1)
      fields.push_back(good_record.substr(start, tab - start));
    fields.push_back(good_record.substr(start));
    fields[index] = value;
    std::string line;
    for (size_t i = 0; i < fields.size(); ++i) line += (i ? "\t" : "") + fields[i];
    return line;
  };
  expect_ignored_as_corrupt(record(good_record + "\textra"), "line 2: wrong field count");
  expect_ignored_as_corrupt(record(replace_field(0, "-1")), "line 2: bad device");
  expect_ignored_as_corrupt(record(replace_field(2, "12x")), "line 2: bad size");
  expect_ignored_as_corrupt(record(replace_field(3, "")), "line 2: bad mtime");
  expect_ignored_as_corrupt(record(replace_field(5, "a\\q00")), "line 2: bad options");
  expect_ignored_as_corrupt(record(replace_field(5, "a\\x4")), "line 2: bad options");
  expect_ignored_as_corrupt(record(replace_field(6, "sha256:abc")), "line 2: bad digest");
  expect_ignored_as_corrupt(record(replace_field(7, "md5:" + std::string(32, '0'))), "line 2: bad diff_id");
  expect_ignored_as_corrupt(record(replace_field(8, entry(1).content.str().substr(1))), "line 2: bad content digest");
  expect_ignored_as_corrupt(record(replace_field(9, std::string(32, 'G'))), "line 2: bad XXH3-128");
  expect_ignored_as_corrupt(record(replace_field(10, "99999999999999999999999")), "line 2: bad layer size");
}

TEST_F(DigestCacheTest, WrongRecordCountIsIgnored) {
  auto text = serialize_cache({{key(1), entry(1)}});
  auto at = text.rfind("end\t1\t");
  text[at + 4] = '2';
  expect_ignored_as_corrupt(text, "wrong record count");
}

TEST_F(DigestCacheTest, CorruptCacheIsReplacedOnSave) {
  expect_ignored_as_corrupt("junk", "wrong header");
  std::optional<DigestCache> cache;
  open_capturing(cache);
  cache->put(key(1), entry(1));
  EXPECT_EQ(save_capturing(*cache), "");
  EXPECT_EQ(open_capturing(cache), "");
  EXPECT_TRUE(cache->find(key(1)));
}

TEST_F(DigestCacheTest, UntouchedEntriesAreKept) {
  save_entries(3);
  {
    auto cache = DigestCache::open(dir_, warnings_);
    cache.put(key(7), entry(7));
    cache.save(warnings_);
  }
  auto cache = DigestCache::open(dir_, warnings_);
  EXPECT_EQ(cache.size(), 4u);
  for (uint64_t n : {0, 1, 2, 7}) EXPECT_TRUE(cache.find(key(n))) << n;
}

TEST_F(DigestCacheTest, BoundDropsTheLeastRecentlyUsed) {
  {
    std::optional<DigestCache> cache;
    open_capturing(cache, 3);
    for (uint64_t n = 0; n < 3; ++n) cache->put(key(n), entry(n));
    cache->save(warnings_);
  }
  {
    std::optional<DigestCache> cache;
    open_capturing(cache, 3);
    ASSERT_TRUE(cache->find(key(0)));  // 0 is now newer than 1 and 2
    cache->put(key(3), entry(3));
    cache->put(key(4), entry(4));
    cache->save(warnings_);
  }
  std::optional<DigestCache> cache;
  open_capturing(cache, 3);
  EXPECT_EQ(cache->size(), 3u);
  EXPECT_TRUE(cache->find(key(0)));
  EXPECT_FALSE(cache->find(key(1)));
  EXPECT_FALSE(cache->find(key(2)));
  EXPECT_TRUE(cache->find(key(3)));
  EXPECT_TRUE(cache->find(key(4)));
}

TEST_F(DigestCacheTest, SaveLeavesNoTempFileAndReplacesAtomically) {
  save_entries(2);
  auto old_text = read_text(dir_ / DigestCache::file_name);
  // A reader holding the old file keeps seeing it whole: the new one is a new inode.
  std::ifstream reader(dir_ / DigestCache::file_name, std::ios::binary);
  struct stat before {};
  ASSERT_EQ(::stat((dir_ / DigestCache::file_name).c_str(), &before), 0);
  save_entries(5);
  struct stat after {};
  ASSERT_EQ(::stat((dir_ / DigestCache::file_name).c_str(), &after), 0);
  EXPECT_NE(before.st_ino, after.st_ino);
  std::string seen{std::istreambuf_iterator<char>(reader), std::istreambuf_iterator<char>()};
  EXPECT_EQ(seen, old_text);
  EXPECT_EQ(files_in_dir(), std::vector<std::string>{DigestCache::file_name});
}

TEST_F(DigestCacheTest, NothingToSaveWritesNothing) {
  auto cache = DigestCache::open(dir_, warnings_);
  cache.find(key(1));  // a miss changes nothing
  cache.save(warnings_);
  EXPECT_TRUE(files_in_dir().empty());
}

TEST_F(DigestCacheTest, UnwritableDirectoryIsAWarning) {
  if (geteuid() == 0) GTEST_SKIP() << "root ignores permissions";
  save_entries(1);
  auto old_text = read_text(dir_ / DigestCache::file_name);
  std::optional<DigestCache> cache;
  open_capturing(cache);
  cache->put(key(2), entry(2));
  fs::permissions(dir_, fs::perms::owner_read | fs::perms::owner_exec);
  auto err = save_capturing(*cache);
  fs::permissions(dir_, fs::perms::owner_all);
  EXPECT_EQ(err, "olot-filter: warning: cannot save digest cache: " + (dir_ / DigestCache::file_name).string() +
                     " (Permission denied)\n");
  EXPECT_EQ(read_text(dir_ / DigestCache::file_name), old_text);
  EXPECT_EQ(files_in_dir(), std::vector<std::string>{DigestCache::file_name});
}

TEST_F(DigestCacheTest, UnreadableFileIsAWarning) {
  if (geteuid() == 0) GTEST_SKIP() << "root ignores permissions";
  save_entries(1);
  fs::permissions(dir_ / DigestCache::file_name, fs::perms::none);
  std::optional<DigestCache> cache;
  EXPECT_EQ(open_capturing(cache), "olot-filter: warning: ignoring unreadable digest cache: " +
                                       (dir_ / DigestCache::file_name).string() + " (Permission denied)\n");
  EXPECT_EQ(cache->size(), 0u);
}

// The same two failures in a way that root cannot bypass.
TEST_F(DigestCacheTest, SaveIntoAVanishedDirectoryIsAWarning) {
  std::optional<DigestCache> cache;
  open_capturing(cache);
  cache->put(key(1), entry(1));
  fs::remove_all(dir_);
  write_text(dir_, "not a directory");
  EXPECT_EQ(save_capturing(*cache), "olot-filter: warning: cannot save digest cache: " +
                                        (dir_ / DigestCache::file_name).string() + " (Not a directory)\n");
  EXPECT_EQ(read_text(dir_), "not a directory");
}

TEST_F(DigestCacheTest, CacheFileThatIsADirectoryIsAWarning) {
  fs::create_directories(dir_ / DigestCache::file_name);
  std::optional<DigestCache> cache;
  EXPECT_EQ(open_capturing(cache), "olot-filter: warning: ignoring unreadable digest cache: " +
                                       (dir_ / DigestCache::file_name).string() + " (Is a directory)\n");
  EXPECT_EQ(cache->size(), 0u);
}

TEST_F(DigestCacheTest, DirectoryThatCannotBeCreatedIsAWarningAndAnInMemoryCache) {
  write_text(root_ / "file", "x");
  dir_ = root_ / "file" / "cache";
  std::optional<DigestCache> cache;
  auto err = open_capturing(cache);
  EXPECT_EQ(err.rfind("olot-filter: warning: cannot use digest cache directory: " + dir_.string() + " (", 0), 0u)
      << err;
  EXPECT_EQ(warnings_.count(), 1);
  cache->put(key(1), entry(1));
  EXPECT_TRUE(cache->find(key(1)));
  EXPECT_EQ(save_capturing(*cache), "");
}

TEST_F(DigestCacheTest, ConcurrentFindAndPut) {
  auto cache = DigestCache::open(dir_, warnings_);
  constexpr uint64_t count = 2000;
  std::atomic<uint64_t> hits{0};
  std::thread writer([&] {
    for (uint64_t n = 0; n < count; ++n) cache.put(key(n), entry(n));
  });
  std::thread reader([&] {
    for (uint64_t round = 0; round < 3; ++round)
      for (uint64_t n = 0; n < count; ++n)
        if (auto found = cache.find(key(n))) {
          EXPECT_EQ(found->layer_size, entry(n).layer_size);
          ++hits;
        }
  });
  writer.join();
  reader.join();
  EXPECT_EQ(cache.size(), count);
  cache.save(warnings_);
  auto reopened = DigestCache::open(dir_, warnings_);
  EXPECT_EQ(reopened.size(), count);
  EXPECT_EQ(warnings_.count(), 0);
}

TEST(CacheKeyFor, ReadsTheFileIdentityFollowingLinks) {
  char pattern[] = "/tmp/olot-cache-key-XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  fs::path root = pattern;
  write_text(root / "w.bin", "12345");
  fs::create_symlink("w.bin", root / "link");
  struct stat st {};
  ASSERT_EQ(::stat((root / "w.bin").c_str(), &st), 0);
  auto k = cache_key_for(root / "link", "opts");
  EXPECT_EQ(k.device, static_cast<uint64_t>(st.st_dev));
  EXPECT_EQ(k.inode, static_cast<uint64_t>(st.st_ino));
  EXPECT_EQ(k.size, 5u);
  EXPECT_EQ(k.mtime_ns, static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec);
  EXPECT_EQ(k.ctime_ns, static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec);
  EXPECT_EQ(k.options, "opts");
  EXPECT_TRUE(cache_key_for(root / "w.bin", "opts") == k);
  try {
    cache_key_for(root / "missing", "");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Exit::no_input);
    EXPECT_EQ(std::string(e.what()), "cannot read model file: " + (root / "missing").string() + " (No such file or directory)");
  }
  fs::remove_all(root);
}

}  // namespace
}  // namespace olot
