#include "test_support.h"
#include "olot/model_files.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "olot/error.h"

namespace olot {
namespace {

namespace fs = std::filesystem;

class ModelFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "olot-model-files-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(root_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(root_, ec);  // does not follow links, so loops are harmless
  }

  fs::path file(const std::string& relative, const std::string& content = "x", int64_t mtime = 1700000000) {
    fs::path path = root_ / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << content;
    set_mtime(path, mtime);
    return path;
  }
  fs::path dir(const std::string& relative) {
    fs::create_directories(root_ / relative);
    return root_ / relative;
  }
  fs::path link(const std::string& relative, const std::string& target) {
    fs::path path = root_ / relative;
    fs::create_directories(path.parent_path());
    fs::create_symlink(target, path);
    return path;
  }
  static void set_mtime(const fs::path& path, int64_t mtime) {
    timespec times[2] = {{mtime, 0}, {mtime, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
  }
  // The in-layer names, in order.
  static std::vector<std::string> names(const std::vector<ModelFile>& files) {
    std::vector<std::string> out;
    for (const auto& f : files) out.push_back(f.inlayer);
    return out;
  }
  ModelInputs inputs(std::vector<fs::path> paths) {
    ModelInputs in;
    in.paths = std::move(paths);
    return in;
  }

  fs::path root_;
};

using olot::testing::expect_error;

TEST_F(ModelFilesTest, DirectoryTreeSortedBytewiseWithLinksAndOddNames) {
  file("model/config.json", "{}", 1600000000);
  file("model/sub/w.bin", "weights");
  file("model/sub/deeper/x.bin", "xx");
  file("model/a/b", "b");
  file("model/a-c", "c");  // '-' sorts before '/', so "a-c" precedes "a/b"
  file("model/empty.txt", "");
  file("model/special tokens – ünïcødé 模型.txt", "tokens");
  file("model/.git/HEAD", "ref: refs/heads/main");
  file("model/Zupper", "z");
  dir("model/emptydir/inner");
  link("model/link-to-config", "config.json");
  file("outside/shared/o.bin", "outside!", 1650000000);
  link("model/linked-dir", "../outside/shared");

  auto files = collect_model_files(inputs({root_ / "model"}));
  EXPECT_EQ(names(files), (std::vector<std::string>{
                              "models/Zupper",
                              "models/a-c",
                              "models/a/b",
                              "models/config.json",
                              "models/empty.txt",
                              "models/link-to-config",
                              "models/linked-dir/o.bin",
                              "models/special tokens – ünïcødé 模型.txt",
                              "models/sub/deeper/x.bin",
                              "models/sub/w.bin",
                          }));
  // A link keeps its own path as source; size and mtime are the target's.
  EXPECT_EQ(files[5].source, root_ / "model" / "link-to-config");
  EXPECT_EQ(files[5].size, 2u);
  EXPECT_EQ(files[5].mtime, 1600000000);
  EXPECT_EQ(files[6].source, root_ / "model" / "linked-dir" / "o.bin");
  EXPECT_EQ(files[6].size, 8u);
  EXPECT_EQ(files[6].mtime, 1650000000);
  EXPECT_EQ(files[4].size, 0u);
  EXPECT_EQ(files[9].size, 7u);
  for (const auto& f : files) EXPECT_FALSE(f.modelcard);
}

TEST_F(ModelFilesTest, HuggingFaceCacheSnapshotLinksIntoBlobs) {
  const std::string hf = "hub/models--org--m/";
  file(hf + "blobs/aaa111", "{\"model_type\":\"x\"}", 1600000001);
  file(hf + "blobs/bbb222", "safetensors-bytes", 1600000002);
  link(hf + "snapshots/c0ffee/config.json", "../../blobs/aaa111");
  link(hf + "snapshots/c0ffee/sub/model.safetensors", "../../../blobs/bbb222");
  link(hf + "refs-main-link", "snapshots/c0ffee");  // a link to the snapshot directory itself

  auto files = collect_model_files(inputs({root_ / hf / "refs-main-link"}));
  ASSERT_EQ(names(files), (std::vector<std::string>{"models/config.json", "models/sub/model.safetensors"}));
  EXPECT_EQ(files[0].source, root_ / hf / "refs-main-link" / "config.json");
  EXPECT_EQ(files[0].size, 18u);
  EXPECT_EQ(files[0].mtime, 1600000001);
  EXPECT_EQ(files[1].size, 17u);
  EXPECT_EQ(files[1].mtime, 1600000002);
}

TEST_F(ModelFilesTest, FileArgumentsKeepArgumentOrderAndUseTheBasename) {
  fs::path b = file("x/b.bin", "bb");
  fs::path a = file("y/a.bin", "a");
  fs::path l = link("y/alias.bin", "a.bin");
  file("d/z", "z");
  auto files = collect_model_files(inputs({b, root_ / "d", a, l}));
  EXPECT_EQ(names(files), (std::vector<std::string>{"models/b.bin", "models/z", "models/a.bin", "models/alias.bin"}));
  EXPECT_EQ(files[0].source, b);
  EXPECT_EQ(files[3].source, l);
  EXPECT_EQ(files[3].size, 1u);
}

TEST_F(ModelFilesTest, PrefixNormalisation) {
  EXPECT_EQ(normalize_prefix("/models"), "models/");
  EXPECT_EQ(normalize_prefix("models"), "models/");
  EXPECT_EQ(normalize_prefix("/models/"), "models/");
  EXPECT_EQ(normalize_prefix("//a/./b//"), "a/b/");
  EXPECT_EQ(normalize_prefix("/"), "");
  EXPECT_EQ(normalize_prefix(""), "");
  EXPECT_EQ(normalize_prefix("/a/..b"), "a/..b/");  // only a ".." component is refused
  expect_error([] { normalize_prefix("/models/../etc"); }, Exit::usage, "..");
  expect_error([] { normalize_prefix(".."); }, Exit::usage, "..");

  fs::path w = file("w.bin");
  ModelInputs in = inputs({w});
  in.prefix = "/";
  EXPECT_EQ(names(collect_model_files(in)), std::vector<std::string>{"w.bin"});
  in.prefix = "opt/ml/";
  EXPECT_EQ(names(collect_model_files(in)), std::vector<std::string>{"opt/ml/w.bin"});
  in.prefix = "/x/../y";
  expect_error([&] { collect_model_files(in); }, Exit::usage, "--prefix");
}

TEST_F(ModelFilesTest, GitDirectoriesSkippedUnlessIncludeVcs) {
  file("m/w.bin");
  file("m/.git/HEAD");
  file("m/sub/.git/config");
  file("m/.gitattributes");
  ModelInputs in = inputs({root_ / "m"});
  EXPECT_EQ(names(collect_model_files(in)), (std::vector<std::string>{"models/.gitattributes", "models/w.bin"}));
  in.include_vcs = true;
  EXPECT_EQ(names(collect_model_files(in)),
            (std::vector<std::string>{"models/.git/HEAD", "models/.gitattributes", "models/sub/.git/config",
                                      "models/w.bin"}));
}

TEST_F(ModelFilesTest, ExcludesMatchRelativePathAndBasename) {
  file("m/w.bin");
  file("m/sub/x.bin");
  file("m/sub/keep.json");
  file("m/logs/run.txt");
  file("m/deep/logs/y.txt");
  file("m/README.md");
  link("m/dangling-but-excluded", "nowhere");
  fs::path single = file("single.bin");

  ModelInputs in = inputs({root_ / "m", single});
  in.excludes = {"*.bin", "dangling-*"};
  EXPECT_EQ(names(collect_model_files(in)),
            (std::vector<std::string>{"models/README.md", "models/deep/logs/y.txt", "models/logs/run.txt",
                                      "models/sub/keep.json"}));

  in.excludes = {"logs/", "dangling*"};  // a trailing '/' names directories, at any depth
  EXPECT_EQ(names(collect_model_files(in)),
            (std::vector<std::string>{"models/README.md", "models/sub/keep.json", "models/sub/x.bin",
                                      "models/w.bin", "models/single.bin"}));

  in.excludes = {"sub", "deep/logs/*", "README.md", "dangling*"};  // a matching directory drops its subtree
  EXPECT_EQ(names(collect_model_files(in)),
            (std::vector<std::string>{"models/logs/run.txt", "models/w.bin", "models/single.bin"}));
}

TEST_F(ModelFilesTest, EmptyDirectoryGivesNoFiles) {
  dir("empty/a/b");
  EXPECT_TRUE(collect_model_files(inputs({root_ / "empty"})).empty());
}

TEST_F(ModelFilesTest, DanglingLinksAreNoInput) {
  file("m/w.bin");
  fs::path dangling = link("m/broken", "../missing/target");
  expect_error([&] { collect_model_files(inputs({root_ / "m"})); }, Exit::no_input,
               "dangling symbolic link: " + dangling.string());
  expect_error([&] { collect_model_files(inputs({dangling})); }, Exit::no_input,
               "dangling symbolic link: " + dangling.string());
}

TEST_F(ModelFilesTest, LinkLoopsAreNoInput) {
  link("loop/a", "b");
  link("loop/b", "a");
  expect_error([&] { collect_model_files(inputs({root_ / "loop"})); }, Exit::no_input, "symbolic link loop: ");

  file("tree/sub/w.bin");
  fs::path up = link("tree/sub/up", "..");
  expect_error([&] { collect_model_files(inputs({root_ / "tree"})); }, Exit::no_input,
               "symbolic link loop: " + up.string());
}

TEST_F(ModelFilesTest, TwoLinksToOneDirectoryAreNotALoop) {
  file("shared/w.bin", "w");
  link("m/one", "../shared");
  link("m/two", "../shared");
  EXPECT_EQ(names(collect_model_files(inputs({root_ / "m"}))),
            (std::vector<std::string>{"models/one/w.bin", "models/two/w.bin"}));
}

TEST_F(ModelFilesTest, SpecialFilesAreNoInput) {
  file("m/w.bin");
  fs::path fifo = root_ / "m" / "pipe";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  expect_error([&] { collect_model_files(inputs({root_ / "m"})); }, Exit::no_input,
               "not a regular file or directory (fifo): " + fifo.string());
  expect_error([&] { collect_model_files(inputs({fifo})); }, Exit::no_input, "(fifo)");
  expect_error([&] { collect_model_files(inputs({"/dev/null"})); }, Exit::no_input, "(character device)");
}

TEST_F(ModelFilesTest, MissingPathsAreNoInput) {
  fs::path missing = root_ / "nope";
  expect_error([&] { collect_model_files(inputs({missing})); }, Exit::no_input,
               "cannot read model path: " + missing.string() + " (No such file or directory)");
  file("m/w.bin");
  expect_error([&] { collect_model_files(inputs({root_ / "m" / "w.bin" / "below-a-file"})); }, Exit::no_input,
               "(Not a directory)");
}

TEST_F(ModelFilesTest, UnreadablePathsAreNoInput) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads files whatever their mode";
  fs::path secret = file("m/secret.bin");
  fs::permissions(secret, fs::perms::none);
  expect_error([&] { collect_model_files(inputs({root_ / "m"})); }, Exit::no_input,
               "cannot read model path: " + secret.string() + " (Permission denied)");
  fs::permissions(secret, fs::perms::owner_read);
  fs::path closed = dir("m/closed");
  fs::permissions(closed, fs::perms::none);
  expect_error([&] { collect_model_files(inputs({root_ / "m"})); }, Exit::no_input,
               "cannot read model path: " + closed.string());
  fs::permissions(closed, fs::perms::owner_all);
}

TEST_F(ModelFilesTest, ModelcardInsideDirectoryIsTakenOutAndAddedLast) {
  file("m/README.md", "# card");
  file("m/w.bin");
  file("m/z.bin");
  fs::path w2 = file("other/w2.bin");
  ModelInputs in = inputs({root_ / "m", w2});
  in.modelcard = root_ / "m" / "README.md";
  auto files = collect_model_files(in);
  ASSERT_EQ(names(files),
            (std::vector<std::string>{"models/w.bin", "models/z.bin", "models/w2.bin", "models/README.md"}));
  EXPECT_TRUE(files.back().modelcard);
  EXPECT_EQ(files.back().size, 6u);
  EXPECT_EQ(files.back().source, root_ / "m" / "README.md");
  EXPECT_FALSE(files[0].modelcard);

  // Spelled differently, still the same place.
  in.modelcard = root_ / "other" / ".." / "m" / "./README.md";
  EXPECT_EQ(names(collect_model_files(in)),
            (std::vector<std::string>{"models/w.bin", "models/z.bin", "models/w2.bin", "models/README.md"}));
}

TEST_F(ModelFilesTest, ModelcardInSubdirectoryMovesToPrefixRoot) {
  file("m/docs/card.md", "card");
  file("m/w.bin");
  ModelInputs in = inputs({root_ / "m"});
  in.modelcard = root_ / "m" / "docs" / "card.md";
  EXPECT_EQ(names(collect_model_files(in)), (std::vector<std::string>{"models/w.bin", "models/card.md"}));
}

TEST_F(ModelFilesTest, ModelcardByHardLinkIsRecognised) {
  fs::path inside = file("m/README.md", "card");
  file("m/w.bin");
  fs::path outside = root_ / "card-hardlink.md";
  fs::create_hard_link(inside, outside);
  ModelInputs in = inputs({root_ / "m"});
  in.modelcard = outside;
  EXPECT_EQ(names(collect_model_files(in)), (std::vector<std::string>{"models/w.bin", "models/card-hardlink.md"}));
}

TEST_F(ModelFilesTest, ModelcardLinkInSnapshotKeepsOtherLinksToTheSameBlob) {
  file("hf/blobs/cardblob", "# same text");
  link("hf/snap/README.md", "../blobs/cardblob");
  link("hf/snap/docs/README.md", "../../blobs/cardblob");
  ModelInputs in = inputs({root_ / "hf" / "snap"});
  in.modelcard = root_ / "hf" / "snap" / "README.md";
  auto files = collect_model_files(in);
  EXPECT_EQ(names(files), (std::vector<std::string>{"models/docs/README.md", "models/README.md"}));
  EXPECT_TRUE(files[1].modelcard);
}

TEST_F(ModelFilesTest, ModelcardOutsideDirectoriesStillCollides) {
  file("m/README.md", "inner");
  fs::path card = file("card/README.md", "outer");
  ModelInputs in = inputs({root_ / "m"});
  in.modelcard = card;
  expect_error([&] { collect_model_files(in); }, Exit::usage,
               "two model files map to the same path: /models/README.md (" + (root_ / "m" / "README.md").string() +
                   " and " + card.string() + ")");
}

TEST_F(ModelFilesTest, ModelcardMustBeARegularFile) {
  dir("carddir");
  ModelInputs in = inputs({});
  in.modelcard = root_ / "carddir";
  expect_error([&] { collect_model_files(in); }, Exit::usage, "modelcard");
  in.modelcard = root_ / "missing.md";
  expect_error([&] { collect_model_files(in); }, Exit::no_input, "cannot read model path");
  in.modelcard = "/dev/null";
  expect_error([&] { collect_model_files(in); }, Exit::no_input, "(character device)");
}

TEST_F(ModelFilesTest, DuplicateInLayerPathsAreUsageErrors) {
  fs::path a = file("a/x", "1");
  fs::path b = file("b/x", "2");
  expect_error([&] { collect_model_files(inputs({a, b})); }, Exit::usage,
               "two model files map to the same path: /models/x (" + a.string() + " and " + b.string() + ")");

  file("d/x", "3");
  expect_error([&] { collect_model_files(inputs({a, root_ / "d"})); }, Exit::usage,
               "two model files map to the same path: /models/x");

  // The same file given twice is still two layers on one path.
  expect_error([&] { collect_model_files(inputs({a, a})); }, Exit::usage, "/models/x");

  ModelInputs in = inputs({a});
  in.prefix = "/";
  fs::path c = file("c/x", "4");
  in.paths.push_back(c);
  expect_error([&] { collect_model_files(in); }, Exit::usage, "same path: /x (");
}

TEST_F(ModelFilesTest, FileWhereADirectoryIsNeededIsAUsageError) {
  fs::path sub = file("f/sub", "a file called sub");
  file("d/sub/w.bin");
  expect_error([&] { collect_model_files(inputs({sub, root_ / "d"})); }, Exit::usage,
               "a model file and a model directory map to the same path: /models/sub");
  expect_error([&] { collect_model_files(inputs({root_ / "d", sub})); }, Exit::usage,
               "a model file and a model directory map to the same path: /models/sub");
}

}  // namespace
}  // namespace olot
