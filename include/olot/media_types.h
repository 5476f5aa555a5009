// Media types and the Docker distribution -> OCI mapping (SPEC §5.1).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "olot/layer.h"

namespace olot::media {

inline constexpr std::string_view oci_index = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view oci_manifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view oci_config = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view docker_list = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view docker_manifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view docker_config = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view in_toto = "application/vnd.in-toto+json";

enum class Role { index, manifest, other };

// What a descriptor of this type points to; throws Error(Exit::data) for
// Docker schema1 manifests and plugin configs, which cannot be converted.
Role role_of(std::string_view media_type, const std::string& where);

bool is_docker(std::string_view media_type);
bool is_image_config(std::string_view media_type);

// The OCI type of an index, manifest or config type (itself if already OCI
// or unknown).
std::string_view to_oci(std::string_view media_type);

// The OCI type of a layer: Docker types follow the bytes the blob really
// holds when they are known (`sniffed`), OCI and unknown types stay.
std::string to_oci_layer(std::string_view media_type, std::optional<Compression> sniffed);

// True for layer types whose bytes are a plain tar (digest == diff_id).
bool is_uncompressed_layer(std::string_view media_type);

}  // namespace olot::media
