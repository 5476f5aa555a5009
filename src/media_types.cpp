#include "olot/media_types.h"

#include "olot/error.h"

namespace olot::media {

namespace {
constexpr std::string_view docker_layer_gzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
constexpr std::string_view docker_layer_tar = "application/vnd.docker.image.rootfs.diff.tar";
constexpr std::string_view docker_foreign_gzip = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
constexpr std::string_view docker_foreign_tar = "application/vnd.docker.image.rootfs.foreign.diff.tar";
constexpr std::string_view oci_layer = "application/vnd.oci.image.layer.v1.tar";
constexpr std::string_view oci_nondistributable = "application/vnd.oci.image.layer.nondistributable.v1.tar";

std::string_view suffix_for(Compression c) {
  switch (c) {
    case Compression::gzip: return "+gzip";
    case Compression::zstd: return "+zstd";
    case Compression::none: break;
  }
  return "";
}
}  // namespace

Role role_of(std::string_view type, const std::string& where) {
  if (type == oci_index || type == docker_list) return Role::index;
  if (type == oci_manifest || type == docker_manifest) return Role::manifest;
  if (type == "application/vnd.docker.distribution.manifest.v1+json" ||
      type == "application/vnd.docker.distribution.manifest.v1+prettyjws")
    fail(Exit::data, "Docker schema1 manifests are not supported", where +
         " (convert the image to schema2 or OCI first, e.g. skopeo copy --format oci)");
  if (type == "application/vnd.docker.plugin.v1+json")
    fail(Exit::data, "Docker plugin images are not supported", where + " (only container images can carry models)");
  return Role::other;
}

bool is_docker(std::string_view type) { return type.starts_with("application/vnd.docker."); }

bool is_image_config(std::string_view type) { return type == oci_config || type == docker_config; }

std::string_view to_oci(std::string_view type) {
  if (type == docker_list) return oci_index;
  if (type == docker_manifest) return oci_manifest;
  if (type == docker_config) return oci_config;
  return type;
}

std::string to_oci_layer(std::string_view type, std::optional<Compression> sniffed) {
  auto base = [&](std::string_view oci, Compression labelled) {
    return std::string(oci) + std::string(suffix_for(sniffed.value_or(labelled)));
  };
  if (type == docker_layer_gzip) return base(oci_layer, Compression::gzip);
  if (type == docker_layer_tar) return base(oci_layer, Compression::none);
  if (type == docker_foreign_gzip) return base(oci_nondistributable, Compression::gzip);
  if (type == docker_foreign_tar) return base(oci_nondistributable, Compression::none);
  return std::string(type);
}

bool is_uncompressed_layer(std::string_view type) {
  return type == oci_layer || type == oci_nondistributable || type == docker_layer_tar || type == docker_foreign_tar;
}

}  // namespace olot::media
