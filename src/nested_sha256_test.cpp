#include "olot/nested_sha256.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "test_support.h"

namespace olot {
namespace {

std::string random_bytes(size_t size, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(size, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// A stream made of framing and stretches, as a layer tar is.
struct Piece {
  std::string bytes;
  bool stretch;
};

struct Expected {
  Digest stream;
  std::vector<Digest> stretches;
};

Expected reference(const std::vector<Piece>& pieces) {
  Expected e;
  std::string all;
  for (const Piece& p : pieces) {
    all += p.bytes;
    if (p.stretch) e.stretches.push_back(digest_of(p.bytes));
  }
  e.stream = digest_of(all);
  return e;
}

// Feeds each piece in writes of `chunk` bytes (the last one shorter).
Expected nested(const std::vector<Piece>& pieces, size_t chunk, NestedSha256::Engine engine) {
  NestedSha256 h(engine);
  Expected e;
  for (const Piece& p : pieces) {
    if (p.stretch) h.open_stretch();
    for (size_t at = 0; at < p.bytes.size(); at += chunk) h.write(p.bytes.substr(at, chunk));
    if (p.stretch) e.stretches.push_back(h.close_stretch());
  }
  e.stream = h.finish();
  return e;
}

void expect_same_as_openssl(const std::vector<Piece>& pieces) {
  Expected want = reference(pieces);
  for (auto engine : {NestedSha256::Engine::best, NestedSha256::Engine::openssl})
    for (size_t chunk : {1u, 7u, 64u, 100u, 4096u, 1u << 20}) {
      Expected got = nested(pieces, chunk, engine);
      EXPECT_EQ(got.stream, want.stream) << "chunk " << chunk;
      EXPECT_EQ(got.stretches, want.stretches) << "chunk " << chunk;
    }
}

TEST(NestedSha256, AStreamWithoutStretchesIsPlainSha256) {
  for (size_t size : {0u, 1u, 55u, 56u, 63u, 64u, 65u, 119u, 120u, 128u, 1000u, 70000u})
    expect_same_as_openssl({{random_bytes(size, static_cast<unsigned>(size)), false}});
}

TEST(NestedSha256, StretchesOnBlockBoundariesLikeALayerTar) {
  // Header blocks, file content of every tail length, padding, more files.
  std::vector<Piece> pieces;
  unsigned seed = 1;
  for (size_t size : {0u, 1u, 63u, 64u, 65u, 511u, 512u, 513u, 100000u}) {
    pieces.push_back({random_bytes(512, seed++), false});
    pieces.push_back({random_bytes(size, seed++), true});
    pieces.push_back({std::string((512 - size % 512) % 512, '\0'), false});
  }
  pieces.push_back({std::string(1024, '\0'), false});
  expect_same_as_openssl(pieces);
}

TEST(NestedSha256, StretchesThatStartMidBlock) {
  expect_same_as_openssl({{random_bytes(10, 1), false},
                          {random_bytes(1000, 2), true},
                          {random_bytes(3, 3), false},
                          {random_bytes(64, 4), true},
                          {random_bytes(70, 5), true}});
}

TEST(NestedSha256, ADigestOfKnownBytes) {
  NestedSha256 h;
  h.write("ab");
  h.open_stretch();
  h.write("c");
  // sha256("c") and sha256("abc"), as sha256sum prints them.
  EXPECT_EQ(h.close_stretch().hex, "2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6");
  EXPECT_EQ(h.finish().hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(NestedSha256, StretchCallsOutOfOrderAreRefused) {
  NestedSha256 h;
  testing::expect_error([&] { h.close_stretch(); }, Exit::software, "no stretch is open");
  h.open_stretch();
  testing::expect_error([&] { h.open_stretch(); }, Exit::software, "already open");
}

}  // namespace
}  // namespace olot
