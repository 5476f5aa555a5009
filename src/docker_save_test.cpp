// docker save (Engine 25+) manifest.json and repositories, rewritten to the
// new config and layers of the images that changed (SPEC §5.3).
#include "olot/docker_save.h"

#include <gtest/gtest.h>

#include <string>

#include "olot/error.h"
#include "olot/json.h"

namespace olot {
namespace {

Digest d(char c, DigestAlg alg = DigestAlg::sha256) { return Digest{alg, std::string(hex_length(alg), c)}; }

// old config 'a' -> new config 'b', layers 'c' (base) and 'e' (new).
std::map<Digest, ImageUpdate> one_update() {
  std::map<Digest, ImageUpdate> images;
  images[d('a')] = ImageUpdate{d('b'), {d('c'), d('e')}, std::nullopt};
  return images;
}

std::string manifest_json(const std::string& config_ref) {
  return R"([{"Config":")" + config_ref + R"(","RepoTags":["registry.example/base:latest"],"Layers":[")" +
         d('c').blob_path() + R"("],"LayerSources":{},"x-extra":[1,2.50]}])";
}

TEST(DockerSaveManifest, RewritesConfigAndLayersOfTheChangedImage) {
  std::string out = rewrite_docker_manifest(manifest_json(d('a').blob_path()), one_update());
  EXPECT_EQ(out, R"([{"Config":")" + d('b').blob_path() + R"(","RepoTags":["registry.example/base:latest"],"Layers":[")" +
                     d('c').blob_path() + R"(",")" + d('e').blob_path() + R"("],"LayerSources":{},"x-extra":[1,2.50]}])");
}

TEST(DockerSaveManifest, ConfigReferencesAsHexAndAsDigestAreRecognised) {
  for (std::string ref : {d('a').hex, d('a').str()}) {
    std::string out = rewrite_docker_manifest(manifest_json(ref), one_update());
    json::Value v = json::parse(out, "manifest.json");
    ASSERT_TRUE(v.is_array());
    const std::string* config = v.items().at(0).string_at("Config");
    ASSERT_NE(config, nullptr);
    EXPECT_NE(config->find(d('b').hex), std::string::npos) << ref << " -> " << *config;
    const json::Value* layers = v.items().at(0).find("Layers");
    ASSERT_NE(layers, nullptr);
    EXPECT_EQ(layers->items().size(), 2u) << ref;
  }
}

TEST(DockerSaveManifest, OtherImagesAreKeptAsTheyAre) {
  std::string other = R"({"Config":")" + d('9').blob_path() + R"(","RepoTags":["other:1"],"Layers":[")" +
                      d('8').blob_path() + R"("]})";
  std::string in = "[" + other + "," + manifest_json(d('a').blob_path()).substr(1);
  std::string out = rewrite_docker_manifest(in, one_update());
  ASSERT_EQ(out.substr(0, other.size() + 1), "[" + other);
  json::Value v = json::parse(out, "manifest.json");
  ASSERT_EQ(v.items().size(), 2u);
  EXPECT_EQ(*v.items()[1].string_at("Config"), d('b').blob_path());
}

TEST(DockerSaveManifest, NothingChangedKeepsTheExactBytes) {
  std::string pretty = "[\n  {\"Config\": \"" + d('9').blob_path() + "\", \"RepoTags\": [], \"Layers\": []}\n]\n";
  EXPECT_EQ(rewrite_docker_manifest(pretty, one_update()), pretty);
  EXPECT_EQ(rewrite_docker_manifest(pretty, {}), pretty);
  std::string mine = manifest_json(d('a').blob_path());
  EXPECT_EQ(rewrite_docker_manifest(mine, {}), mine);
}

TEST(DockerSaveManifest, MalformedIsRefused) {
  for (std::string bad : {std::string("{}"), std::string("not json"), std::string("[1,")}) {
    try {
      rewrite_docker_manifest(bad, one_update());
      ADD_FAILURE() << "accepted " << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Exit::data);
      EXPECT_NE(std::string(e.what()).find("manifest.json"), std::string::npos) << e.what();
    }
  }
}

TEST(DockerSaveRepositories, ImageIdsOfChangedImagesAreReplacedInTheirOwnSpelling) {
  std::string in = R"({"registry.example/base":{"latest":")" + d('a').hex + R"(","digest":")" + d('a').str() +
                   R"(","path":")" + d('a').blob_path() + R"(","other":")" + d('9').hex + R"("}})";
  std::string out = rewrite_docker_repositories(in, one_update());
  EXPECT_EQ(out, R"({"registry.example/base":{"latest":")" + d('b').hex + R"(","digest":")" + d('b').str() +
                     R"(","path":")" + d('b').blob_path() + R"(","other":")" + d('9').hex + R"("}})");
}

// Docker's repositories file names the image's top layer (legacy layer ID);
// after the rewrite the top layer is the last new one.
TEST(DockerSaveRepositories, TopLayerIdsFollowTheNewTopLayer) {
  std::map<Digest, ImageUpdate> images;
  ImageUpdate u{d('b'), {d('c'), d('e')}, std::nullopt};
  u.old_top_layer = d('c');
  images[d('a')] = u;
  std::string in = R"({"base":{"latest":")" + d('c').hex + R"(","other":")" + d('9').hex + R"("}})";
  EXPECT_EQ(rewrite_docker_repositories(in, images),
            R"({"base":{"latest":")" + d('e').hex + R"(","other":")" + d('9').hex + R"("}})");
}

TEST(DockerSaveRepositories, NothingChangedKeepsTheExactBytes) {
  std::string in = "{\"other\": {\"1\": \"" + d('9').hex + "\"}}\n";
  EXPECT_EQ(rewrite_docker_repositories(in, one_update()), in);
  EXPECT_EQ(rewrite_docker_repositories(in, {}), in);
}

TEST(DockerSaveRepositories, MalformedIsRefused) {
  try {
    rewrite_docker_repositories("[]", one_update());
    ADD_FAILURE() << "accepted an array";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Exit::data);
    EXPECT_NE(std::string(e.what()).find("repositories"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace olot
