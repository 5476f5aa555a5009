#include "olot/model_layers.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <random>

#include "test_support.h"

namespace olot {
namespace {

namespace fs = std::filesystem;

using olot::testing::StringSink;

class ModelLayersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "olot-model-layers-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
  }
  void TearDown() override { fs::remove_all(root_); }

  PlannedLayer layer(const std::string& name, const std::string& content, Compression compression = Compression::none) {
    fs::path path = root_ / name;
    std::ofstream(path, std::ios::binary) << content;
    PlannedLayer p;
    p.spec.files.push_back(LayerEntry{path, "models/" + name, content.size(), 1700000000});
    p.spec.compression = compression;
    p.inlayer_path = "/models/" + name;
    p.title = name;
    return p;
  }

  static std::string random_bytes(size_t size, unsigned seed) {
    std::mt19937 rng(seed);
    std::string s(size, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    return s;
  }

  // The layer's tar and its blob, made by the writing code.
  static std::pair<std::string, std::string> tar_and_blob(const PlannedLayer& p) {
    StringSink tar, blob;
    emit_layer_tar(p.spec, tar, nullptr);
    Compressor compressor(p.spec.compression, blob);
    compressor.write(tar.bytes);
    compressor.finish();
    return {tar.bytes, blob.bytes};
  }

  fs::path root_;
};

TEST_F(ModelLayersTest, AnUncompressedLayerHasOneDigestForBlobAndDiffId) {
  const std::string content = random_bytes((1 << 20) + 100, 1);
  PlannedLayer p = layer("w.bin", content);
  HashedLayer h = hash_layer(p);
  auto [tar, blob] = tar_and_blob(p);
  EXPECT_EQ(h.digest, digest_of(tar));
  EXPECT_EQ(h.diff_id, h.digest);
  EXPECT_EQ(h.size, tar.size());
  ASSERT_TRUE(h.content);
  EXPECT_EQ(*h.content, digest_of(content));
  Xxh3Hasher xxh;
  xxh.write(content);
  EXPECT_EQ(h.file_checks, std::vector<Xxh128>{xxh.finish()});
}

TEST_F(ModelLayersTest, ACompressedLayerHashesTheBlobTheTarAndTheFile) {
  for (Compression c : {Compression::gzip, Compression::zstd}) {
    const std::string content = random_bytes(70000, 2);
    PlannedLayer p = layer("c.bin", content, c);
    HashedLayer h = hash_layer(p);
    auto [tar, blob] = tar_and_blob(p);
    EXPECT_EQ(h.digest, digest_of(blob));
    EXPECT_EQ(h.diff_id, digest_of(tar));
    EXPECT_EQ(h.size, blob.size());
    ASSERT_TRUE(h.content);
    EXPECT_EQ(*h.content, digest_of(content));
  }
}

TEST_F(ModelLayersTest, APackedLayerHasNoContentDigest) {
  PlannedLayer p = layer("a", "alpha");
  PlannedLayer b = layer("b", random_bytes(1000, 3));
  p.spec.files.push_back(b.spec.files.front());
  p.packed = true;
  HashedLayer h = hash_layer(p);
  EXPECT_EQ(h.digest, digest_of(tar_and_blob(p).first));
  EXPECT_FALSE(h.content);
  EXPECT_EQ(h.file_checks.size(), 2u);
}

TEST_F(ModelLayersTest, TheHasherGivesEveryLayerInOrder) {
  std::vector<PlannedLayer> layers;
  for (unsigned i = 0; i < 7; ++i)
    layers.push_back(layer("f" + std::to_string(i), random_bytes(1000 * i, i), i % 3 ? Compression::none : Compression::gzip));
  LayerHasher hasher(layers, nullptr);
  for (size_t i = 0; i < layers.size(); ++i) {
    HashedLayer want = hash_layer(layers[i]);
    EXPECT_EQ(hasher.get(i).digest, want.digest) << i;
    EXPECT_EQ(hasher.get(i).content, want.content) << i;
  }
}

TEST_F(ModelLayersTest, TheFirstFailingLayerIsTheOneReported) {
  std::vector<PlannedLayer> layers;
  for (unsigned i = 0; i < 4; ++i) layers.push_back(layer("f" + std::to_string(i), random_bytes(100000, i)));
  fs::remove(layers[1].spec.files.front().source);
  fs::remove(layers[2].spec.files.front().source);
  LayerHasher hasher(layers, nullptr);
  EXPECT_EQ(hasher.get(0).digest, hash_layer(layers[0]).digest);
  const std::string second = layers[1].spec.files.front().source.string();
  testing::expect_error([&] { hasher.get(1); }, Exit::no_input, "cannot read model file: " + second);
  testing::expect_error([&] { hasher.get(2); }, Exit::no_input, second);
}

}  // namespace
}  // namespace olot
