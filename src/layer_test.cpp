#include "test_support.h"
#include "olot/layer.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <functional>
#include <random>

#include "olot/error.h"

namespace olot {
namespace {

namespace fs = std::filesystem;

using olot::testing::StringSink;

std::string field(const std::string& block, size_t offset, size_t width) { return block.substr(offset, width); }

std::string octal(uint64_t value, int digits) {
  char text[32];
  std::snprintf(text, sizeof text, "%0*llo", digits, static_cast<unsigned long long>(value));
  return std::string(text) + '\0';
}

// Recomputes the checksum of a header block and compares it with the stored one.
void expect_valid_checksum(const std::string& block) {
  ASSERT_EQ(block.size(), 512u);
  unsigned sum = 0;
  for (size_t i = 0; i < 512; ++i) sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(block[i]);
  EXPECT_EQ(field(block, 148, 8), octal(sum, 6) + ' ');
}

// The fixed parts every header we write shares.
void expect_common_header(const std::string& block) {
  EXPECT_EQ(field(block, 108, 8), std::string("0000000\0", 8)) << "uid";
  EXPECT_EQ(field(block, 116, 8), std::string("0000000\0", 8)) << "gid";
  EXPECT_EQ(field(block, 157, 100), std::string(100, '\0')) << "linkname";
  EXPECT_EQ(field(block, 257, 8), std::string("ustar  \0", 8)) << "GNU magic";
  EXPECT_EQ(field(block, 265, 32), std::string(32, '\0')) << "uname";
  EXPECT_EQ(field(block, 297, 32), std::string(32, '\0')) << "gname";
  EXPECT_EQ(field(block, 329, 16), std::string(16, '\0')) << "devmajor/devminor";
  EXPECT_EQ(field(block, 345, 167), std::string(167, '\0')) << "GNU atime/ctime and the rest";
  expect_valid_checksum(block);
}

std::string run_command(const std::string& command) {
  std::string output;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return output;
  char buffer[4096];
  for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) output.append(buffer, n);
  EXPECT_EQ(::pclose(pipe), 0) << command;
  return output;
}

// name, type, mode, uid, gid, uname, gname, size, mtime of every member, as Python's tarfile reads them.
constexpr const char* list_with_python =
    "python3 -c 'import sys, tarfile\n"
    "with tarfile.open(sys.argv[1]) as t:\n"
    "  assert t.getmembers()\n"
    "  for m in t:\n"
    "    print(m.name, m.type.decode(), oct(m.mode), m.uid, m.gid, repr(m.uname), repr(m.gname), m.size, m.mtime,"
    " sorted(m.pax_headers))' ";

class LayerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "olot-layer-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
  }
  void TearDown() override { fs::remove_all(root_); }

  LayerEntry file(const std::string& name, const std::string& content, const std::string& inlayer,
                  int64_t mtime = 1700000000) {
    fs::path path = root_ / name;
    std::ofstream(path, std::ios::binary) << content;
    return LayerEntry{path, inlayer, content.size(), mtime};
  }
  fs::path save(const std::string& name, const std::string& bytes) {
    fs::path path = root_ / name;
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }
  static std::string emit(const LayerSpec& spec, ContentObserver* observer = nullptr) {
    StringSink sink;
    emit_layer_tar(spec, sink, observer);
    return sink.bytes;
  }
  static std::string random_bytes(size_t size, unsigned seed) {
    std::mt19937 generator(seed);
    std::string bytes(size, '\0');
    for (char& c : bytes) c = static_cast<char>(generator() % 7);  // compressible but not trivial
    return bytes;
  }

  fs::path root_;
};

using olot::testing::expect_error;

TEST_F(LayerTest, ExactBytesOfASmallFileLayer) {
  LayerSpec spec{{file("w", "hello", "models/w.bin", 1700000000)}};
  std::string tar = emit(spec);
  ASSERT_EQ(tar.size(), 512u * 3 + 1024);
  EXPECT_EQ(layer_tar_size(spec), tar.size());

  std::string dir = tar.substr(0, 512);
  EXPECT_EQ(field(dir, 0, 100), "models/" + std::string(93, '\0'));
  EXPECT_EQ(field(dir, 100, 8), std::string("0000775\0", 8));
  EXPECT_EQ(field(dir, 124, 12), std::string("00000000000\0", 12));
  EXPECT_EQ(field(dir, 136, 12), octal(1700000000, 11));
  EXPECT_EQ(dir[156], '5');
  expect_common_header(dir);

  std::string header = tar.substr(512, 512);
  EXPECT_EQ(field(header, 0, 100), "models/w.bin" + std::string(88, '\0'));
  EXPECT_EQ(field(header, 100, 8), std::string("0000664\0", 8));
  EXPECT_EQ(field(header, 124, 12), std::string("00000000005\0", 12));
  EXPECT_EQ(field(header, 136, 12), std::string("14524770400\0", 12));
  EXPECT_EQ(header[156], '0');
  expect_common_header(header);

  EXPECT_EQ(tar.substr(1024, 512), "hello" + std::string(507, '\0'));
  EXPECT_EQ(tar.substr(1536), std::string(1024, '\0'));  // end of archive, no padding to 10240
}

TEST_F(LayerTest, PythonAndGnuTarReadTheLayer) {
  LayerSpec spec{{file("a", "alpha", "models/a.txt", 1600000000), file("b", "", "models/sub/empty", 1650000000),
                  file("c", "special", "models/sub/special tokens – ünïcødé 模型.txt", 1700000000)}};
  fs::path tar = save("layer.tar", emit(spec));
  EXPECT_EQ(run_command(list_with_python + tar.string()),
            "models 5 0o775 0 0 '' '' 0 1600000000 []\n"  // tarfile drops a directory's trailing '/'
            "models/a.txt 0 0o664 0 0 '' '' 5 1600000000 []\n"
            "models/sub 5 0o775 0 0 '' '' 0 1650000000 []\n"
            "models/sub/empty 0 0o664 0 0 '' '' 0 1650000000 []\n"
            "models/sub/special tokens – ünïcødé 模型.txt 0 0o664 0 0 '' '' 7 1700000000 []\n");
  EXPECT_EQ(run_command("tar -tf " + tar.string()),
            "models/\nmodels/a.txt\nmodels/sub/\nmodels/sub/empty\nmodels/sub/special tokens – ünïcødé 模型.txt\n");
  EXPECT_EQ(run_command("tar -xOf " + tar.string() + " 'models/sub/special tokens – ünïcødé 模型.txt'"), "special");
}

TEST_F(LayerTest, DirectoriesComeOnceAndTakeTheMtimeOfTheFileThatIntroducedThem) {
  LayerSpec spec{{file("1", "1", "models/a", 100), file("2", "2", "models/sub/b", 200), file("3", "3", "models/sub/c", 300),
                  file("4", "4", "top", 400)}};
  std::string tar = emit(spec);
  std::vector<std::pair<std::string, std::string>> headers;  // name, mtime
  for (size_t offset = 0; offset + 1024 < tar.size(); offset += 512) {
    std::string block = tar.substr(offset, 512);
    headers.emplace_back(block.substr(0, block.find('\0')), field(block, 136, 12));
    if (block[156] == '0') offset += 512;  // one data block each
  }
  EXPECT_EQ(headers, (std::vector<std::pair<std::string, std::string>>{{"models/", octal(100, 11)},
                                                                       {"models/a", octal(100, 11)},
                                                                       {"models/sub/", octal(200, 11)},
                                                                       {"models/sub/b", octal(200, 11)},
                                                                       {"models/sub/c", octal(300, 11)},
                                                                       {"top", octal(400, 11)}}));
  EXPECT_EQ(layer_tar_size(spec), tar.size());
}

TEST_F(LayerTest, LongNamesGetAGnuLongLinkRecord) {
  const std::string dir = "models/" + std::string(120, 'd') + "/";  // 128 bytes: long too
  const std::string name = dir + std::string(160 - dir.size(), 'f');
  ASSERT_EQ(name.size(), 160u);
  LayerSpec spec{{file("long", "content", name, 1700000000)}};
  std::string tar = emit(spec);
  EXPECT_EQ(layer_tar_size(spec), tar.size());
  // "models/"; the long directory: long-link, name, header; the file: long-link, name, header, data; end
  ASSERT_EQ(tar.size(), 512u * (1 + 3 + 4) + 1024);

  std::string link = tar.substr(2048, 512);
  EXPECT_EQ(field(link, 0, 100), "././@LongLink" + std::string(87, '\0'));
  EXPECT_EQ(field(link, 100, 8), std::string("0000644\0", 8));
  EXPECT_EQ(field(link, 124, 12), octal(161, 11));
  EXPECT_EQ(field(link, 136, 12), octal(0, 11));
  EXPECT_EQ(link[156], 'L');
  expect_common_header(link);
  EXPECT_EQ(tar.substr(2560, 512), name + std::string(512 - 160, '\0'));

  std::string header = tar.substr(3072, 512);
  EXPECT_EQ(field(header, 0, 100), name.substr(0, 100));
  EXPECT_EQ(header[156], '0');
  expect_common_header(header);

  EXPECT_EQ(tar.substr(0, 8), std::string("models/\0", 8));
  EXPECT_EQ(tar[512 + 156], 'L');
  EXPECT_EQ(field(tar.substr(512, 512), 124, 12), octal(129, 11));
  EXPECT_EQ(tar.substr(1024, 512), dir + std::string(512 - dir.size(), '\0'));
  EXPECT_EQ(tar.substr(1536, 100), dir.substr(0, 100));
  EXPECT_EQ(tar[1536 + 156], '5');

  fs::path path = save("long.tar", tar);
  EXPECT_EQ(run_command(list_with_python + path.string()),
            "models 5 0o775 0 0 '' '' 0 1700000000 []\n" + dir.substr(0, dir.size() - 1) + " 5 0o775 0 0 '' '' 0 1700000000 []\n" + name + " 0 0o664 0 0 '' '' 7 1700000000 []\n");
  EXPECT_EQ(run_command("tar -xOf " + path.string() + " " + name), "content");
}

// The reference: GNU tar's own GNU format, with ownership numeric and root.
TEST_F(LayerTest, SameBytesAsGnuTar) {
  if (run_command("tar --version").find("GNU tar") == std::string::npos) GTEST_SKIP() << "needs GNU tar";
  const std::string long_dir = "models/" + std::string(120, 'd');
  const std::string long_file = long_dir + "/" + std::string(50, 'f');
  fs::create_directories(root_ / "tree" / long_dir);
  fs::create_directories(root_ / "tree/models/sub");
  std::vector<LayerEntry> files = {file("tree/models/sub/w.bin", "hello", "models/sub/w.bin"),
                                   file("tree/" + long_file, "content", long_file)};
  for (const char* dir : {"models", "models/sub"}) fs::permissions(root_ / "tree" / dir, fs::perms(0775));
  fs::permissions(root_ / "tree" / long_dir, fs::perms(0775));
  for (const auto& f : files) fs::permissions(f.source, fs::perms(0664));
  for (const std::string& p : {std::string("models"), std::string("models/sub"), long_dir,
                                std::string("models/sub/w.bin"), long_file}) {
    timespec times[2] = {{1700000000, 0}, {1700000000, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, (root_ / "tree" / p).c_str(), times, 0), 0);
  }
  const fs::path gnu = root_ / "gnu.tar";
  run_command("cd " + (root_ / "tree").string() +
              " && tar --format=gnu --numeric-owner --owner=0 --group=0 --blocking-factor=1 --no-recursion -cf " +
              gnu.string() + " models/ models/sub/ models/sub/w.bin " + long_dir + "/ " + long_file);
  std::ifstream in(gnu, std::ios::binary);
  const std::string expected((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_EQ(expected.size(), 512u * 13);
  EXPECT_TRUE(emit(LayerSpec{files}) == expected);  // not EXPECT_EQ: 6.5 KiB of NULs would be printed
}

TEST_F(LayerTest, NameOfExactly100BytesNeedsNoLongLink) {
  const std::string name = "models/" + std::string(93, 'n');
  std::string headers = encode_entry_headers({name, '0', 0664, 1, 0});
  ASSERT_EQ(headers.size(), 512u);
  EXPECT_EQ(headers.substr(0, 100), name);
  EXPECT_EQ(encode_entry_headers({name + "x", '0', 0664, 1, 0}).size(), 1024u + 512u);
}

TEST_F(LayerTest, TwoEmissionsGiveIdenticalBytes) {
  LayerSpec spec{{file("a", random_bytes(3 << 20, 1), "models/a.bin"), file("b", "b", "models/x/b")}};
  EXPECT_EQ(emit(spec), emit(spec));
}

TEST_F(LayerTest, SizeFieldOctalUpTo8GiBThenBase256) {
  auto text = [](const std::array<unsigned char, 12>& f) { return std::string(f.begin(), f.end()); };
  EXPECT_EQ(text(encode_size_field(0)), std::string("00000000000\0", 12));
  EXPECT_EQ(text(encode_size_field(5)), std::string("00000000005\0", 12));
  EXPECT_EQ(text(encode_size_field((uint64_t{1} << 33) - 1)), std::string("77777777777\0", 12));
  EXPECT_EQ(encode_size_field(uint64_t{1} << 33),
            (std::array<unsigned char, 12>{0x80, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0}));
  EXPECT_EQ(encode_size_field(uint64_t{9} << 30),
            (std::array<unsigned char, 12>{0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x40, 0, 0, 0}));
  EXPECT_EQ(encode_size_field(~uint64_t{0}),
            (std::array<unsigned char, 12>{0x80, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}));

  TarBlock block = encode_tar_header({"models/huge.bin", '0', 0664, uint64_t{9} << 30, 1700000000});
  std::string header(block.begin(), block.end());
  EXPECT_EQ(field(header, 124, 12), std::string("\x80\0\0\0\0\0\0\x02\x40\0\0\0", 12));
  expect_common_header(header);
  // Python's tarfile decodes the header of a 9 GiB member (the data is not there, so only the header is read).
  fs::path path = save("huge-header.tar", header);
  EXPECT_EQ(run_command("python3 -c 'import sys, tarfile; print(tarfile.TarInfo.frombuf(open(sys.argv[1], \"rb\")"
                        ".read(512), \"utf-8\", \"strict\").size)' " +
                        path.string()),
            "9663676416\n");
}

TEST_F(LayerTest, MtimeOutsideTheOctalRangeIsClampedOrBase256) {
  TarBlock before_1970 = encode_tar_header({"x", '0', 0664, 0, -5});
  EXPECT_EQ(std::string(before_1970.begin() + 136, before_1970.begin() + 148), std::string("00000000000\0", 12));
  TarBlock far_future = encode_tar_header({"x", '0', 0664, 0, int64_t{1} << 33});
  EXPECT_EQ(far_future[136], 0x80);
  EXPECT_EQ(far_future[143], 0x02);
}

TEST_F(LayerTest, EmptyLayerIsTheEndOfArchiveOnly) {
  EXPECT_EQ(emit(LayerSpec{}), std::string(1024, '\0'));
  EXPECT_EQ(layer_tar_size(LayerSpec{}), 1024u);
}

struct RecordingObserver : ContentObserver {
  void begin_file(size_t index) override { events.push_back("begin " + std::to_string(index)); }
  void content(const void* data, size_t size) override {
    chunks.push_back(size);
    bytes.append(static_cast<const char*>(data), size);
    if (on_content) on_content();
  }
  void end_file(size_t index) override { events.push_back("end " + std::to_string(index)); }
  std::vector<std::string> events;
  std::vector<size_t> chunks;
  std::string bytes;
  std::function<void()> on_content;
};

TEST_F(LayerTest, ObserverSeesEveryContentByteInMiBChunks) {
  const std::string big = random_bytes((5 << 20) / 2, 2);  // 2.5 MiB
  LayerSpec spec{{file("big", big, "models/big.bin"), file("empty", "", "models/empty"), file("s", "small", "models/s")}};
  RecordingObserver observer;
  std::string tar = emit(spec, &observer);
  EXPECT_EQ(observer.events, (std::vector<std::string>{"begin 0", "end 0", "begin 1", "end 1", "begin 2", "end 2"}));
  EXPECT_EQ(observer.chunks, (std::vector<size_t>{1 << 20, 1 << 20, 1 << 19, 5}));
  EXPECT_EQ(observer.bytes, big + "small");
  fs::path path = save("big.tar", tar);
  EXPECT_EQ(run_command("tar -xOf " + path.string() + " models/big.bin"), big);
}

// The contract NestedSha256 relies on: between begin_file and end_file the
// output receives the file's content and nothing else.
TEST_F(LayerTest, BetweenBeginAndEndTheOutputGetsExactlyTheContent) {
  struct Inside : ContentObserver, ByteSink {
    void begin_file(size_t) override { inside = true; }
    void content(const void*, size_t) override {}
    void end_file(size_t) override {
      inside = false;
      files.emplace_back();
    }
    void write(const void* data, size_t size) override {
      if (inside) files.back().append(static_cast<const char*>(data), size);
    }
    bool inside = false;
    std::vector<std::string> files{1};
  } recorder;
  const std::string big = random_bytes((1 << 20) + 3, 4);
  std::string long_name = "models/" + std::string(150, 'n');
  LayerSpec spec{{file("a", big, "models/sub/a"), file("b", "", long_name), file("c", "xyz", "models/c")}};
  emit_layer_tar(spec, recorder, &recorder);
  EXPECT_EQ(recorder.files, (std::vector<std::string>{big, "", "xyz", ""}));
}

TEST_F(LayerTest, FileOfTheWrongSizeIsADataError) {
  LayerEntry entry = file("w", "hello", "models/w");
  entry.size = 4;
  expect_error([&] { emit(LayerSpec{{entry}}); }, Exit::data, "model file changed while reading: " + entry.source.string());
  entry.size = 6;
  expect_error([&] { emit(LayerSpec{{entry}}); }, Exit::data, "model file changed while reading");
}

TEST_F(LayerTest, FileGrowingWhileReadIsADataError) {
  LayerEntry entry = file("grow", random_bytes(1 << 20, 3), "models/grow");
  RecordingObserver observer;
  observer.on_content = [&] { std::ofstream(entry.source, std::ios::binary | std::ios::app) << "more"; };
  expect_error([&] { emit(LayerSpec{{entry}}, &observer); }, Exit::data, "model file changed while reading");
  EXPECT_EQ(observer.events, std::vector<std::string>{"begin 0"});  // never reported as complete
}

TEST_F(LayerTest, FileShrinkingWhileReadIsADataError) {
  LayerEntry entry = file("shrink", random_bytes(3 << 19, 4), "models/shrink");  // 1.5 MiB: two reads
  RecordingObserver observer;
  observer.on_content = [&] { fs::resize_file(entry.source, 1 << 20); };
  expect_error([&] { emit(LayerSpec{{entry}}, &observer); }, Exit::data, "model file changed while reading");
}

TEST_F(LayerTest, MissingFileIsNoInput) {
  LayerEntry entry{root_ / "gone", "models/gone", 1, 0};
  expect_error([&] { emit(LayerSpec{{entry}}); }, Exit::no_input, "cannot read model file: " + entry.source.string());
}

// Feeds `bytes` through a compressor in pieces of pseudo-random sizes (or in one piece with seed 0).
std::string compress(Compression compression, const std::string& bytes, unsigned seed = 0) {
  StringSink sink;
  Compressor compressor(compression, sink);
  std::mt19937 generator(seed);
  for (size_t pos = 0; pos < bytes.size();) {
    size_t step = seed == 0 ? bytes.size() : std::min<size_t>(bytes.size() - pos, generator() % 70000);
    compressor.write(bytes.data() + pos, step);
    pos += step;
  }
  compressor.finish();
  return sink.bytes;
}

std::string gunzip(const std::string& compressed) {
  z_stream stream{};
  EXPECT_EQ(inflateInit2(&stream, 15 + 16), Z_OK);
  std::string out;
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  stream.avail_in = static_cast<uInt>(compressed.size());
  int status;
  do {
    char buffer[65536];
    stream.next_out = reinterpret_cast<Bytef*>(buffer);
    stream.avail_out = sizeof buffer;
    status = inflate(&stream, Z_NO_FLUSH);
    out.append(buffer, sizeof buffer - stream.avail_out);
  } while (status == Z_OK);
  EXPECT_EQ(status, Z_STREAM_END);
  EXPECT_EQ(stream.avail_in, 0u) << "trailing bytes";
  inflateEnd(&stream);
  return out;
}

std::string unzstd(const std::string& compressed) {
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> context(ZSTD_createDCtx(), ZSTD_freeDCtx);
  ZSTD_inBuffer input{compressed.data(), compressed.size(), 0};
  std::string out;
  size_t status = 1;
  while (input.pos < input.size) {
    char buffer[65536];
    ZSTD_outBuffer output{buffer, sizeof buffer, 0};
    status = ZSTD_decompressStream(context.get(), &output, &input);
    EXPECT_FALSE(ZSTD_isError(status)) << ZSTD_getErrorName(status);
    if (ZSTD_isError(status)) break;
    out.append(buffer, output.pos);
  }
  EXPECT_EQ(status, 0u) << "frame not complete";
  return out;
}

TEST_F(LayerTest, GzipIsDeterministicAndDecompressesToTheTar) {
  LayerSpec spec{{file("a", random_bytes(700 << 10, 5), "models/a.bin"), file("b", "bee", "models/b")}};
  const std::string tar = emit(spec);
  const std::string gz = compress(Compression::gzip, tar);
  EXPECT_EQ(gz, compress(Compression::gzip, tar));
  EXPECT_EQ(gz, compress(Compression::gzip, tar, 7)) << "output depends on how writes are split";
  ASSERT_GT(gz.size(), 18u);
  EXPECT_EQ(gz.substr(0, 4), std::string("\x1f\x8b\x08\x00", 4)) << "magic, deflate, no flags (no name)";
  EXPECT_EQ(gz.substr(4, 4), std::string(4, '\0')) << "MTIME";
  EXPECT_EQ(static_cast<unsigned char>(gz[9]), 255) << "OS";
  EXPECT_EQ(gunzip(gz), tar);
  fs::path path = save("layer.tar.gz", gz);
  EXPECT_EQ(run_command("gzip -dc " + path.string()), tar);
  EXPECT_EQ(run_command("tar -tzf " + path.string()), "models/\nmodels/a.bin\nmodels/b\n");
}

TEST_F(LayerTest, ZstdIsDeterministicAndDecompressesToTheTar) {
  LayerSpec spec{{file("a", random_bytes(3 << 20, 6), "models/a.bin")}};
  const std::string tar = emit(spec);
  const std::string zst = compress(Compression::zstd, tar);
  EXPECT_EQ(zst, compress(Compression::zstd, tar));
  EXPECT_EQ(zst, compress(Compression::zstd, tar, 9)) << "output depends on how writes are split";
  EXPECT_EQ(zst.substr(0, 4), std::string("\x28\xb5\x2f\xfd", 4));
  EXPECT_EQ(ZSTD_getFrameContentSize(zst.data(), zst.size()), ZSTD_CONTENTSIZE_UNKNOWN);
  EXPECT_EQ(unzstd(zst), tar);
  fs::path path = save("layer.tar.zst", zst);
  EXPECT_EQ(run_command("zstd -q -dc " + path.string()), tar);

  const std::string small = emit(LayerSpec{{file("s", "tiny", "models/s")}});
  const std::string small_zst = compress(Compression::zstd, small);
  EXPECT_EQ(ZSTD_getFrameContentSize(small_zst.data(), small_zst.size()), ZSTD_CONTENTSIZE_UNKNOWN);
  EXPECT_EQ(unzstd(small_zst), small);
}

TEST_F(LayerTest, EmptyInputCompressesToAValidEmptyStream) {
  EXPECT_EQ(gunzip(compress(Compression::gzip, "")), "");
  EXPECT_EQ(unzstd(compress(Compression::zstd, "")), "");
  EXPECT_EQ(compress(Compression::none, ""), "");
}

TEST_F(LayerTest, NoCompressionPassesBytesThrough) {
  const std::string bytes = random_bytes(100000, 8);
  EXPECT_EQ(compress(Compression::none, bytes, 3), bytes);
}

TEST_F(LayerTest, CompressorRefusesUseAfterFinish) {
  StringSink sink;
  Compressor compressor(Compression::gzip, sink);
  compressor.write("abc");
  compressor.finish();
  expect_error([&] { compressor.write("more"); }, Exit::software, "finished");
  expect_error([&] { compressor.finish(); }, Exit::software, "twice");
}

TEST_F(LayerTest, UnfinishedCompressorIsDestroyedCleanly) {
  StringSink sink;
  { Compressor compressor(Compression::zstd, sink); compressor.write(random_bytes(1 << 20, 10)); }
  { Compressor compressor(Compression::gzip, sink); compressor.write(random_bytes(300 << 10, 11)); }
}

TEST_F(LayerTest, MediaTypes) {
  EXPECT_EQ(layer_media_type(Compression::none), "application/vnd.oci.image.layer.v1.tar");
  EXPECT_EQ(layer_media_type(Compression::gzip), "application/vnd.oci.image.layer.v1.tar+gzip");
  EXPECT_EQ(layer_media_type(Compression::zstd), "application/vnd.oci.image.layer.v1.tar+zstd");
}

}  // namespace
}  // namespace olot
