// The Docker distribution -> OCI table of SPEC §5.1, the sniffed
// compression that overrides a Docker layer label, OCI types left alone, and
// the schema1 / plugin refusals.
#include "olot/media_types.h"

#include <gtest/gtest.h>

#include <string>

#include "olot/error.h"

namespace olot::media {
namespace {

constexpr std::string_view d_gzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
constexpr std::string_view d_tar = "application/vnd.docker.image.rootfs.diff.tar";
constexpr std::string_view d_foreign_gzip = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
constexpr std::string_view d_foreign_tar = "application/vnd.docker.image.rootfs.foreign.diff.tar";
constexpr std::string_view o_tar = "application/vnd.oci.image.layer.v1.tar";
constexpr std::string_view o_gzip = "application/vnd.oci.image.layer.v1.tar+gzip";
constexpr std::string_view o_zstd = "application/vnd.oci.image.layer.v1.tar+zstd";
constexpr std::string_view o_nd_tar = "application/vnd.oci.image.layer.nondistributable.v1.tar";
constexpr std::string_view o_nd_gzip = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
constexpr std::string_view o_nd_zstd = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";

TEST(MediaTypesTable, DocumentTypes) {
  EXPECT_EQ(to_oci("application/vnd.docker.distribution.manifest.list.v2+json"),
            "application/vnd.oci.image.index.v1+json");
  EXPECT_EQ(to_oci("application/vnd.docker.distribution.manifest.v2+json"),
            "application/vnd.oci.image.manifest.v1+json");
  EXPECT_EQ(to_oci("application/vnd.docker.container.image.v1+json"), "application/vnd.oci.image.config.v1+json");
  EXPECT_EQ(to_oci(docker_list), oci_index);
  EXPECT_EQ(to_oci(docker_manifest), oci_manifest);
  EXPECT_EQ(to_oci(docker_config), oci_config);
}

TEST(MediaTypesTable, OciAndUnknownDocumentTypesStay) {
  for (std::string_view t : {oci_index, oci_manifest, oci_config, std::string_view("application/vnd.oci.empty.v1+json"),
                             std::string_view("application/vnd.example.unknown+json"), std::string_view("")})
    EXPECT_EQ(to_oci(t), t);
}

TEST(MediaTypesTable, LayerTypesByLabelWhenNothingWasSniffed) {
  EXPECT_EQ(to_oci_layer(d_gzip, std::nullopt), o_gzip);
  EXPECT_EQ(to_oci_layer(d_tar, std::nullopt), o_tar);
  EXPECT_EQ(to_oci_layer(d_foreign_gzip, std::nullopt), o_nd_gzip);
  EXPECT_EQ(to_oci_layer(d_foreign_tar, std::nullopt), o_nd_tar);
}

TEST(MediaTypesTable, LayerTypesWhenTheBytesAgreeWithTheLabel) {
  EXPECT_EQ(to_oci_layer(d_gzip, Compression::gzip), o_gzip);
  EXPECT_EQ(to_oci_layer(d_tar, Compression::none), o_tar);
  EXPECT_EQ(to_oci_layer(d_foreign_gzip, Compression::gzip), o_nd_gzip);
  EXPECT_EQ(to_oci_layer(d_foreign_tar, Compression::none), o_nd_tar);
}

// B26: Docker tools label uncompressed layers ...tar.gzip; the OCI type
// follows the bytes.
TEST(MediaTypesSniffed, CompressionOverridesTheDockerLabel) {
  EXPECT_EQ(to_oci_layer(d_gzip, Compression::none), o_tar);
  EXPECT_EQ(to_oci_layer(d_gzip, Compression::zstd), o_zstd);
  EXPECT_EQ(to_oci_layer(d_tar, Compression::gzip), o_gzip);
  EXPECT_EQ(to_oci_layer(d_tar, Compression::zstd), o_zstd);
  EXPECT_EQ(to_oci_layer(d_foreign_gzip, Compression::none), o_nd_tar);
  EXPECT_EQ(to_oci_layer(d_foreign_tar, Compression::gzip), o_nd_gzip);
  EXPECT_EQ(to_oci_layer(d_foreign_gzip, Compression::zstd), o_nd_zstd);
}

// SPEC §5.1: "Layer media types that are already OCI stay as they are."
TEST(MediaTypesSniffed, OciLayerTypesStayWhateverTheBytes) {
  for (std::string_view t : {o_tar, o_gzip, o_zstd, o_nd_tar, o_nd_gzip}) {
    EXPECT_EQ(to_oci_layer(t, std::nullopt), t);
    for (Compression c : {Compression::none, Compression::gzip, Compression::zstd}) EXPECT_EQ(to_oci_layer(t, c), t);
  }
}

TEST(MediaTypesSniffed, UnknownLayerTypesStay) {
  for (std::string_view t : {in_toto, std::string_view("application/json"), std::string_view("application/octet-stream"),
                             std::string_view("application/vnd.cncf.model.weight.v1.tar")}) {
    EXPECT_EQ(to_oci_layer(t, std::nullopt), t);
    EXPECT_EQ(to_oci_layer(t, Compression::gzip), t);
    EXPECT_EQ(to_oci_layer(t, Compression::none), t);
  }
}

TEST(MediaTypesRoles, IndexesManifestsAndOthers) {
  EXPECT_EQ(role_of(oci_index, "x"), Role::index);
  EXPECT_EQ(role_of(docker_list, "x"), Role::index);
  EXPECT_EQ(role_of(oci_manifest, "x"), Role::manifest);
  EXPECT_EQ(role_of(docker_manifest, "x"), Role::manifest);
  for (std::string_view t : {oci_config, docker_config, o_gzip, d_gzip, in_toto, std::string_view(""),
                             std::string_view("application/vnd.example.unknown+json"), std::string_view("application/xml")})
    EXPECT_EQ(role_of(t, "x"), Role::other) << t;
}

void expect_refused(std::string_view type, const std::string& hint) {
  const std::string where = "sha256:0123 (platform linux/amd64)";
  try {
    role_of(type, where);
    ADD_FAILURE() << "accepted " << type;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Exit::data) << type;
    std::string what = e.what();
    EXPECT_NE(what.find(where), std::string::npos) << "does not name the document: " << what;
    EXPECT_NE(what.find(hint), std::string::npos) << "does not say '" << hint << "': " << what;
  }
}

TEST(MediaTypesRoles, Schema1IsRefusedSayingWhatToUseInstead) {
  expect_refused("application/vnd.docker.distribution.manifest.v1+json", "schema1");
  expect_refused("application/vnd.docker.distribution.manifest.v1+prettyjws", "schema1");
  expect_refused("application/vnd.docker.distribution.manifest.v1+json", "convert");
  expect_refused("application/vnd.docker.distribution.manifest.v1+prettyjws", "convert");
}

TEST(MediaTypesRoles, PluginConfigsAreRefused) {
  expect_refused("application/vnd.docker.plugin.v1+json", "plugin");
}

TEST(MediaTypesPredicates, IsDocker) {
  for (std::string_view t : {docker_list, docker_manifest, docker_config, d_gzip, d_tar, d_foreign_gzip, d_foreign_tar})
    EXPECT_TRUE(is_docker(t)) << t;
  for (std::string_view t : {oci_index, oci_manifest, oci_config, o_gzip, in_toto, std::string_view("")})
    EXPECT_FALSE(is_docker(t)) << t;
}

TEST(MediaTypesPredicates, IsImageConfig) {
  EXPECT_TRUE(is_image_config(oci_config));
  EXPECT_TRUE(is_image_config(docker_config));
  EXPECT_FALSE(is_image_config("application/vnd.oci.empty.v1+json"));
  EXPECT_FALSE(is_image_config("application/vnd.cncf.model.config.v1+json"));
  EXPECT_FALSE(is_image_config(oci_manifest));
  EXPECT_FALSE(is_image_config(""));
}

TEST(MediaTypesPredicates, IsUncompressedLayer) {
  for (std::string_view t : {o_tar, o_nd_tar, d_tar, d_foreign_tar}) EXPECT_TRUE(is_uncompressed_layer(t)) << t;
  for (std::string_view t : {o_gzip, o_zstd, o_nd_gzip, d_gzip, d_foreign_gzip, in_toto, std::string_view("")})
    EXPECT_FALSE(is_uncompressed_layer(t)) << t;
}

}  // namespace
}  // namespace olot::media
