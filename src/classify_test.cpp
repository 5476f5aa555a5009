// Input entries classified by name and type (SPEC §3): every refusal, and
// the normalisations ("./" prefixes, "." components) that make two
// spellings of a name the same entry.
#include "olot/classify.h"

#include <gtest/gtest.h>

#include <cctype>
#include <string>

#include "olot/error.h"

namespace olot {
namespace {

const std::string hex64 = "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
const std::string hex128 = hex64 + hex64;

EntryHeader file(std::string path, uint64_t size = 2) { return {std::move(path), EntryType::file, size}; }
EntryHeader of_type(std::string path, EntryType type) { return {std::move(path), type, 0}; }

// classify_entry refuses the header with Exit::data and a message naming the entry as stored.
void expect_refused(const EntryHeader& h, const std::string& why_contains = "") {
  try {
    ClassifiedEntry e = classify_entry(h);
    ADD_FAILURE() << "accepted '" << h.path << "' as role " << static_cast<int>(e.role) << " name '" << e.name << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Exit::data) << h.path;
    std::string what = e.what();
    if (!h.path.empty()) {
      EXPECT_NE(what.find(h.path), std::string::npos) << "message does not name the entry: " << what;
    }
    if (!why_contains.empty()) {
      EXPECT_NE(what.find(why_contains), std::string::npos) << what;
    }
  }
}

TEST(ClassifyNormalise, DotComponentsAndLeadingDotSlashGo) {
  EXPECT_EQ(normalise_entry_name("./a/./b"), "a/b");
  EXPECT_EQ(normalise_entry_name("a/b"), "a/b");
  EXPECT_EQ(normalise_entry_name("./index.json"), "index.json");
  EXPECT_EQ(normalise_entry_name("././oci-layout"), "oci-layout");
  EXPECT_EQ(normalise_entry_name("a//b/"), "a/b");
  EXPECT_EQ(normalise_entry_name("./blobs/sha256/"), "blobs/sha256");
}

TEST(ClassifyNormalise, TheLayoutRootIsEmpty) {
  EXPECT_EQ(normalise_entry_name("./"), "");
  EXPECT_EQ(normalise_entry_name("."), "");
  EXPECT_EQ(normalise_entry_name(""), "");
}

TEST(ClassifyRoles, RootDocuments) {
  EXPECT_EQ(classify_entry(file("index.json")).role, EntryRole::index);
  EXPECT_EQ(classify_entry(file("oci-layout")).role, EntryRole::oci_layout);
  ClassifiedEntry dotted = classify_entry(file("./index.json"));
  EXPECT_EQ(dotted.role, EntryRole::index);
  EXPECT_EQ(dotted.name, "index.json");
  EXPECT_EQ(classify_entry(file("./oci-layout")).name, "oci-layout");
}

TEST(ClassifyRoles, OtherRootFilesAreExtras) {
  for (const char* name : {"manifest.json", "repositories", "README", "sub/index.json", "x/oci-layout"}) {
    ClassifiedEntry e = classify_entry(file(name));
    EXPECT_EQ(e.role, EntryRole::root_extra) << name;
    EXPECT_EQ(e.name, name);
  }
}

TEST(ClassifyRoles, DirectoriesAreSkipped) {
  for (const char* name : {"./", "blobs/", "./blobs/sha256/", "blobs/sha512", "anything/else/"}) {
    ClassifiedEntry e = classify_entry(of_type(name, EntryType::directory));
    EXPECT_EQ(e.role, EntryRole::skip) << name;
  }
  EXPECT_EQ(classify_entry(of_type("./blobs/sha256/", EntryType::directory)).name, "blobs/sha256");
}

TEST(ClassifyBlobs, Sha256) {
  ClassifiedEntry e = classify_entry(file("blobs/sha256/" + hex64));
  EXPECT_EQ(e.role, EntryRole::blob);
  EXPECT_EQ(e.name, "blobs/sha256/" + hex64);
  EXPECT_EQ(e.digest.alg, DigestAlg::sha256);
  EXPECT_EQ(e.digest.hex, hex64);
  EXPECT_EQ(e.digest.str(), "sha256:" + hex64);
}

TEST(ClassifyBlobs, DotSpellingsAreTheSameBlob) {
  for (std::string name : {"./blobs/sha256/" + hex64, "./blobs/./sha256/" + hex64, "blobs//sha256/" + hex64}) {
    ClassifiedEntry e = classify_entry(file(name));
    EXPECT_EQ(e.role, EntryRole::blob) << name;
    EXPECT_EQ(e.name, "blobs/sha256/" + hex64) << name;
    EXPECT_EQ(e.digest.hex, hex64) << name;
  }
}

TEST(ClassifyBlobs, Sha512With128Hex) {
  ClassifiedEntry e = classify_entry(file("blobs/sha512/" + hex128));
  EXPECT_EQ(e.role, EntryRole::blob);
  EXPECT_EQ(e.digest.alg, DigestAlg::sha512);
  EXPECT_EQ(e.digest.hex, hex128);
  EXPECT_EQ(e.name.size(), 141u);
}

TEST(ClassifyBlobs, UppercaseHexIsRefused) {
  std::string upper = hex64;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  expect_refused(file("blobs/sha256/" + upper));
  std::string one_upper = hex64;  // "44136fa3...": only the case of one letter differs
  ASSERT_EQ(one_upper[5], 'f');
  one_upper[5] = 'F';
  expect_refused(file("blobs/sha256/" + one_upper));
}

TEST(ClassifyBlobs, WrongLengthIsRefused) {
  expect_refused(file("blobs/sha256/" + hex64.substr(0, 63)));
  expect_refused(file("blobs/sha256/" + hex64 + "0"));
  expect_refused(file("blobs/sha256/" + hex128));           // sha512 length under sha256
  expect_refused(file("blobs/sha512/" + hex64));            // sha256 length under sha512
  expect_refused(file("blobs/sha512/" + hex128.substr(1)));
  expect_refused(file("blobs/sha256/"));
}

TEST(ClassifyBlobs, NonHexIsRefused) {
  std::string bad = hex64;
  bad[10] = 'g';
  expect_refused(file("blobs/sha256/" + bad));
  expect_refused(file("blobs/sha256/" + hex64.substr(0, 63) + "-"));
}

TEST(ClassifyBlobs, UnknownAlgorithmIsRefused) {
  expect_refused(file("blobs/md5/d41d8cd98f00b204e9800998ecf8427e"), "algorithm");
  expect_refused(file("blobs/sha384/" + hex64 + hex64.substr(0, 32)), "algorithm");
  expect_refused(file("blobs/SHA256/" + hex64));
  expect_refused(file("blobs/blake3/" + hex64));
}

TEST(ClassifyBlobs, NestedOrShallowNamesAreRefused) {
  expect_refused(file("blobs/x/y/z"));
  expect_refused(file("blobs/sha256/" + hex64 + "/extra"));
  expect_refused(file("blobs/sha256/sub/" + hex64));
  expect_refused(file("blobs/" + hex64));
  expect_refused(file("blobs/sha256"));
  expect_refused(file("blobs"));
}

TEST(ClassifyRefusals, DotDotAnywhere) {
  expect_refused(file("../index.json"), "..");
  expect_refused(file("blobs/../index.json"), "..");
  expect_refused(file("a/.."), "..");
  expect_refused(file("./blobs/sha256/../../../etc/passwd"), "..");
  expect_refused(of_type("../", EntryType::directory), "..");
  expect_refused(of_type("blobs/..", EntryType::directory), "..");
}

TEST(ClassifyRefusals, AbsoluteNames) {
  expect_refused(file("/index.json"));
  expect_refused(file("/blobs/sha256/" + hex64));
  expect_refused(of_type("/", EntryType::directory));
  expect_refused(of_type("/blobs/", EntryType::directory));
}

TEST(ClassifyRefusals, LinksDevicesFifosAndOtherTypes) {
  for (EntryType t : {EntryType::symlink, EntryType::hardlink, EntryType::device, EntryType::fifo, EntryType::other}) {
    expect_refused(of_type("blobs/sha256/" + hex64, t));
    expect_refused(of_type("index.json", t));
    expect_refused(of_type("oci-layout", t));
    expect_refused(of_type("manifest.json", t));
  }
}

TEST(ClassifyRefusals, NamelessEntries) {
  expect_refused(file(""));
  expect_refused(file("./"));
  expect_refused(file("."));
}

}  // namespace
}  // namespace olot
