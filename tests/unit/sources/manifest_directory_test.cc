#include "sources/manifest_directory.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "temp_dir.h"

namespace meridian::sources {
namespace {

using meridian::test_support::TempDir;

namespace fs = std::filesystem;

std::string Service(const std::string& name, const std::string& ip, int port = 80) {
  return "apiVersion: v1\nkind: Service\nmetadata:\n  name: " + name +
         "\nspec:\n  clusterIP: " + ip + "\n  ports:\n  - port: " + std::to_string(port) + "\n";
}

std::string Slice(const std::string& name) {
  return "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: " + name +
         "\n  labels: {kubernetes.io/service-name: web}\naddressType: IPv4\n";
}

std::vector<std::string> ServiceNames(const model::ResourceSnapshot& s) {
  std::vector<std::string> out;
  for (const auto& svc : s.services) out.push_back(svc.meta.key.name);
  return out;
}

std::vector<std::string> Messages(const ManifestDirectoryState& s) {
  std::vector<std::string> out;
  for (const auto& e : s.errors) out.push_back(e.message);
  return out;
}

using Names = std::vector<std::string>;

class ManifestDirectoryTest : public ::testing::Test {
 protected:
  TempDir tmp_;
  ManifestDirectory dir_{tmp_.path()};
};

TEST_F(ManifestDirectoryTest, LoadsManifestsInSortedOrder) {
  tmp_.Write("b.yaml", Service("b", "10.96.0.2"));
  tmp_.Write("a.yml", Service("a", "10.96.0.1") + "---\n" + Slice("a-1"));
  tmp_.Write("c.json", R"({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "c"},
    "spec": {"clusterIP": "10.96.0.3", "ports": [{"port": 80}]}})");

  ManifestDirectoryState s = dir_.Reload();
  EXPECT_EQ(Messages(s), Names{});
  EXPECT_TRUE(s.changed);
  EXPECT_EQ(ServiceNames(s.snapshot), (Names{"a", "b", "c"}));
  ASSERT_EQ(s.snapshot.endpoint_slices.size(), 1u);
  EXPECT_EQ(s.snapshot.endpoint_slices[0].meta.source, (model::SourceRef{tmp_.Path("a.yml"), 1}));
  EXPECT_EQ(s.snapshot.services[1].meta.source, (model::SourceRef{tmp_.Path("b.yaml"), 0}));
  EXPECT_EQ(dir_.decoded_files(), 3u);
}

TEST_F(ManifestDirectoryTest, EmptyDirectoryIsAChangeOnlyTheFirstTime) {
  ManifestDirectoryState first = dir_.Reload();
  EXPECT_TRUE(first.changed);
  EXPECT_EQ(first.snapshot, model::ResourceSnapshot{});
  EXPECT_EQ(Messages(first), Names{});
  EXPECT_FALSE(dir_.Reload().changed);
}

TEST_F(ManifestDirectoryTest, UnchangedFilesAreNotDecodedAgain) {
  tmp_.Write("a.yaml", Service("a", "10.96.0.1"));
  tmp_.Write("b.yaml", Service("b", "10.96.0.2"));
  dir_.Reload();
  EXPECT_EQ(dir_.decoded_files(), 2u);

  ManifestDirectoryState s = dir_.Reload();
  EXPECT_FALSE(s.changed);
  EXPECT_EQ(ServiceNames(s.snapshot), (Names{"a", "b"}));
  EXPECT_EQ(dir_.decoded_files(), 2u);

  tmp_.Write("b.yaml", Service("b", "10.96.0.2", 81));
  s = dir_.Reload();
  EXPECT_TRUE(s.changed);
  EXPECT_EQ(dir_.decoded_files(), 3u);  // only b.yaml
  EXPECT_EQ(s.snapshot.services.at(1).ports.at(0).port, 81);
}

TEST_F(ManifestDirectoryTest, BadEditKeepsLastGoodVersionAndReportsEveryTime) {
  tmp_.Write("a.yaml", Service("a", "10.96.0.1"));
  tmp_.Write("b.yaml", Service("b", "10.96.0.2"));
  dir_.Reload();

  // Document 1 of the new content is fine, document 2 is not: the whole
  // file is rejected, including its new Service c.
  tmp_.Write("a.yaml", Service("a", "10.96.0.1", 81) + "---\n" + Service("c", "10.96.0.3", 70000));
  const std::string error = tmp_.Path("a.yaml") +
                            ": document 2: Service default/c: spec.ports[0].port: 70000 is out "
                            "of range 1-65535";
  for (int reload = 0; reload < 2; ++reload) {
    ManifestDirectoryState s = dir_.Reload();
    EXPECT_FALSE(s.changed);
    EXPECT_EQ(ServiceNames(s.snapshot), (Names{"a", "b"}));
    EXPECT_EQ(s.snapshot.services.at(0).ports.at(0).port, 80);  // the last good version
    ASSERT_EQ(s.errors.size(), 1u);
    EXPECT_EQ(s.errors[0].file, tmp_.Path("a.yaml"));
    EXPECT_EQ(s.errors[0].message, error);
  }
  EXPECT_EQ(dir_.decoded_files(), 3u);  // the bad content was decoded once

  // The fix is taken.
  tmp_.Write("a.yaml", Service("a", "10.96.0.1", 81) + "---\n" + Service("c", "10.96.0.3", 7000));
  ManifestDirectoryState s = dir_.Reload();
  EXPECT_TRUE(s.changed);
  EXPECT_EQ(Messages(s), Names{});
  EXPECT_EQ(ServiceNames(s.snapshot), (Names{"a", "c", "b"}));
  EXPECT_EQ(s.snapshot.services.at(0).ports.at(0).port, 81);
}

TEST_F(ManifestDirectoryTest, RevertToLastGoodContentNeedsNoDecode) {
  tmp_.Write("a.yaml", Service("a", "10.96.0.1"));
  dir_.Reload();
  tmp_.Write("a.yaml", "kind: [");
  EXPECT_EQ(dir_.Reload().errors.size(), 1u);
  tmp_.Write("a.yaml", Service("a", "10.96.0.1"));
  ManifestDirectoryState s = dir_.Reload();
  EXPECT_EQ(Messages(s), Names{});
  EXPECT_FALSE(s.changed);
  EXPECT_EQ(dir_.decoded_files(), 2u);
}

TEST_F(ManifestDirectoryTest, NewBadFileContributesNothing) {
  tmp_.Write("a.yaml", Service("a", "10.96.0.1") + "---\n" + Service("Bad", "10.96.0.2"));
  ManifestDirectoryState s = dir_.Reload();
  EXPECT_EQ(s.snapshot, model::ResourceSnapshot{});
  EXPECT_EQ(Messages(s), (Names{tmp_.Path("a.yaml") +
                                ": document 2: Service default/Bad: metadata.name: \"Bad\" is not "
                                "a valid DNS-1035 label (at most 63 lowercase letters, digits and "
                                "'-', starting with a letter and ending with a letter or digit)"}));
}

TEST_F(ManifestDirectoryTest, DeletedFileObjectsLeave) {
  tmp_.Write("a.yaml", Service("a", "10.96.0.1"));
  tmp_.Write("b.yaml", Service("b", "10.96.0.2"));
  dir_.Reload();
  tmp_.Remove("a.yaml");
  ManifestDirectoryState s = dir_.Reload();
  EXPECT_TRUE(s.changed);
  EXPECT_EQ(ServiceNames(s.snapshot), (Names{"b"}));
  EXPECT_EQ(Messages(s), Names{});
}

TEST_F(ManifestDirectoryTest, DeletingARejectedFileClearsItsError) {
  tmp_.Write("a.yaml", "kind: [");
  EXPECT_EQ(dir_.Reload().errors.size(), 1u);
  tmp_.Remove("a.yaml");
  EXPECT_EQ(Messages(dir_.Reload()), Names{});
}

TEST_F(ManifestDirectoryTest, DuplicateServiceInALaterFileIsRejected) {
  tmp_.Write("a.yaml", Service("web", "10.96.0.1"));
  tmp_.Write("b.yaml", Service("web", "10.96.0.2"));
  ManifestDirectoryState s = dir_.Reload();
  ASSERT_EQ(s.snapshot.services.size(), 1u);
  EXPECT_EQ(s.snapshot.services[0].cluster_ip, model::Ipv4Address::Parse("10.96.0.1"));
  EXPECT_EQ(Messages(s),
            (Names{tmp_.Path("b.yaml") + ": document 1: Service default/web: already defined in " +
                   tmp_.Path("a.yaml") + " (document 1)"}));
  EXPECT_EQ(s.errors.at(0).file, tmp_.Path("b.yaml"));
}

TEST_F(ManifestDirectoryTest, IncumbentWinsEvenWhenItSortsLater) {
  tmp_.Write("b.yaml", Service("web", "10.96.0.2"));
  dir_.Reload();
  tmp_.Write("a.yaml", Service("web", "10.96.0.1"));
  ManifestDirectoryState s = dir_.Reload();
  EXPECT_FALSE(s.changed);
  ASSERT_EQ(s.snapshot.services.size(), 1u);
  EXPECT_EQ(s.snapshot.services[0].meta.source.file, tmp_.Path("b.yaml"));
  EXPECT_EQ(Messages(s),
            (Names{tmp_.Path("a.yaml") + ": document 1: Service default/web: already defined in " +
                   tmp_.Path("b.yaml") + " (document 1)"}));
  // Reported again while it persists.
  EXPECT_EQ(dir_.Reload().errors.size(), 1u);
}

TEST_F(ManifestDirectoryTest, DuplicateFrontendIsRejectedInBothOrders) {
  tmp_.Write("a.yaml", Service("a", "10.96.0.10"));
  dir_.Reload();
  tmp_.Write("b.yaml", Service("b", "10.96.0.10"));
  ManifestDirectoryState s = dir_.Reload();
  EXPECT_EQ(ServiceNames(s.snapshot), (Names{"a"}));
  EXPECT_EQ(Messages(s), (Names{tmp_.Path("b.yaml") +
                                ": document 1: Service default/b: spec.ports[0]: 10.96.0.10:80/TCP "
                                "is already used by Service default/a (" +
                                tmp_.Path("a.yaml") + ")"}));

  TempDir other;
  other.Write("b.yaml", Service("b", "10.96.0.10"));
  ManifestDirectory dir(other.path());
  dir.Reload();
  other.Write("a.yaml", Service("a", "10.96.0.10"));
  s = dir.Reload();
  EXPECT_EQ(ServiceNames(s.snapshot), (Names{"b"}));
  EXPECT_EQ(Messages(s), (Names{other.Path("a.yaml") +
                                ": document 1: Service default/a: spec.ports[0]: 10.96.0.10:80/TCP "
                                "is already used by Service default/b (" +
                                other.Path("b.yaml") + ")"}));
}

TEST_F(ManifestDirectoryTest, SameVipOnOtherPortOrHeadlessIsNoConflict) {
  tmp_.Write("a.yaml", Service("a", "10.96.0.10", 80));
  tmp_.Write("b.yaml", Service("b", "10.96.0.10", 443));
  tmp_.Write("c.yaml",
             "apiVersion: v1\nkind: Service\nmetadata: {name: c}\nspec: {clusterIP: None}\n"
             "---\napiVersion: v1\nkind: Service\nmetadata: {name: d}\n"
             "spec: {clusterIP: None}\n");
  ManifestDirectoryState s = dir_.Reload();
  EXPECT_EQ(Messages(s), Names{});
  EXPECT_EQ(ServiceNames(s.snapshot), (Names{"a", "b", "c", "d"}));
}

TEST_F(ManifestDirectoryTest, DuplicateEndpointSliceIsRejected) {
  tmp_.Write("a.yaml", Slice("web-1"));
  tmp_.Write("b.yaml", Slice("web-2") + "---\n" + Slice("web-1"));
  ManifestDirectoryState s = dir_.Reload();
  ASSERT_EQ(s.snapshot.endpoint_slices.size(), 1u);
  EXPECT_EQ(s.snapshot.endpoint_slices[0].meta.key.name, "web-1");
  EXPECT_EQ(Messages(s), (Names{tmp_.Path("b.yaml") +
                                ": document 2: EndpointSlice default/web-1: already defined in " +
                                tmp_.Path("a.yaml") + " (document 1)"}));
}

TEST_F(ManifestDirectoryTest, ConflictInsideOneFileIsRejected) {
  tmp_.Write("a.yaml", Service("a", "10.96.0.10") + "---\n" + Service("b", "10.96.0.10"));
  ManifestDirectoryState s = dir_.Reload();
  EXPECT_EQ(s.snapshot, model::ResourceSnapshot{});
  EXPECT_EQ(Messages(s), (Names{tmp_.Path("a.yaml") +
                                ": document 2: Service default/b: spec.ports[0]: 10.96.0.10:80/TCP "
                                "is already used by Service default/a (" +
                                tmp_.Path("a.yaml") + ")"}));
}

TEST_F(ManifestDirectoryTest, RejectedFileIsAcceptedOnceTheIncumbentLeaves) {
  tmp_.Write("a.yaml", Service("web", "10.96.0.1"));
  tmp_.Write("b.yaml", Service("web", "10.96.0.2"));
  dir_.Reload();
  tmp_.Remove("a.yaml");
  ManifestDirectoryState s = dir_.Reload();
  EXPECT_EQ(Messages(s), Names{});
  ASSERT_EQ(s.snapshot.services.size(), 1u);
  EXPECT_EQ(s.snapshot.services[0].meta.source.file, tmp_.Path("b.yaml"));
  EXPECT_EQ(dir_.decoded_files(), 2u);  // b.yaml was not decoded again
}

TEST_F(ManifestDirectoryTest, ObjectCanMoveBetweenFilesInOneEdit) {
  tmp_.Write("a.yaml", Service("x", "10.96.0.1"));
  tmp_.Write("b.yaml", Service("web", "10.96.0.2"));
  dir_.Reload();
  // web moves from b.yaml to a.yaml, which sorts first.
  tmp_.Write("a.yaml", Service("x", "10.96.0.1") + "---\n" + Service("web", "10.96.0.2"));
  tmp_.Write("b.yaml", "");
  ManifestDirectoryState s = dir_.Reload();
  EXPECT_EQ(Messages(s), Names{});
  EXPECT_EQ(ServiceNames(s.snapshot), (Names{"x", "web"}));
  EXPECT_EQ(s.snapshot.services.at(1).meta.source.file, tmp_.Path("a.yaml"));
}

TEST_F(ManifestDirectoryTest, IgnoresHiddenTempAndOtherFiles) {
  tmp_.Write("a.yaml", Service("a", "10.96.0.1"));
  const std::string bad = "kind: [";
  for (const char* name : {".hidden.yaml", "a.yaml~", ".a.yaml.swp", "a.yaml.swp", ".#a.yaml",
                           "notes.txt", "yaml", ".yaml"}) {
    tmp_.Write(name, bad);
  }
  fs::create_directory(tmp_.Path("sub.yaml"));
  fs::create_directory(tmp_.Path("sub"));
  tmp_.Write("sub/b.yaml", bad);
  ASSERT_EQ(mkfifo(tmp_.Path("fifo.yaml").c_str(), 0600), 0);
  fs::create_symlink("missing-target.yaml", tmp_.Path("dangling.yaml"));

  ManifestDirectoryState s = dir_.Reload();
  EXPECT_EQ(Messages(s), Names{});
  EXPECT_EQ(ServiceNames(s.snapshot), (Names{"a"}));
  EXPECT_EQ(dir_.decoded_files(), 1u);
}

TEST_F(ManifestDirectoryTest, FollowsConfigMapVolumeSymlinks) {
  // A ConfigMap volume: visible names link through the hidden ..data link.
  fs::create_directory(tmp_.Path("..2024_05_01"));
  tmp_.Write("..2024_05_01/web.yaml", Service("web", "10.96.0.1"));
  fs::create_directory_symlink("..2024_05_01", tmp_.Path("..data"));
  fs::create_symlink("..data/web.yaml", tmp_.Path("web.yaml"));
  ManifestDirectoryState s = dir_.Reload();
  EXPECT_EQ(Messages(s), Names{});
  EXPECT_EQ(ServiceNames(s.snapshot), (Names{"web"}));
}

TEST_F(ManifestDirectoryTest, OversizeFileIsRejectedUnread) {
  tmp_.Write("a.yaml", Service("a", "10.96.0.1"));
  dir_.Reload();
  std::string big = Service("a", "10.96.0.1", 81) + "# ";
  big.resize(ManifestDirectory::kMaxFileBytes + 1, 'x');
  tmp_.Write("a.yaml", big);
  ManifestDirectoryState s = dir_.Reload();
  EXPECT_EQ(ServiceNames(s.snapshot), (Names{"a"}));
  EXPECT_EQ(s.snapshot.services.at(0).ports.at(0).port, 80);
  EXPECT_EQ(Messages(s),
            (Names{tmp_.Path("a.yaml") + ": file is 4194305 bytes; the limit is 4194304 bytes"}));
  EXPECT_EQ(dir_.decoded_files(), 1u);

  big.pop_back();  // exactly at the limit is fine
  tmp_.Write("a.yaml", big);
  s = dir_.Reload();
  EXPECT_EQ(Messages(s), Names{});
  EXPECT_EQ(s.snapshot.services.at(0).ports.at(0).port, 81);
}

TEST(ManifestDirectoryMissingTest, MissingDirectoryIsAnError) {
  TempDir tmp;
  const std::string missing = tmp.Path("nope");
  ManifestDirectory dir(missing);
  EXPECT_EQ(dir.dir(), missing);
  ManifestDirectoryState s = dir.Reload();
  EXPECT_FALSE(s.changed);
  EXPECT_EQ(s.snapshot, model::ResourceSnapshot{});
  ASSERT_EQ(s.errors.size(), 1u);
  EXPECT_EQ(s.errors[0].file, missing);
  EXPECT_EQ(s.errors[0].message, missing + ": cannot read directory: No such file or directory");
}

TEST(ManifestDirectoryMissingTest, VanishedDirectoryKeepsLastGoodSnapshot) {
  TempDir tmp;
  fs::create_directory(tmp.Path("m"));
  tmp.Write("m/a.yaml", Service("a", "10.96.0.1"));
  ManifestDirectory dir(tmp.Path("m"));
  ASSERT_EQ(ServiceNames(dir.Reload().snapshot), (Names{"a"}));

  fs::rename(tmp.Path("m"), tmp.Path("m.old"));
  ManifestDirectoryState s = dir.Reload();
  EXPECT_FALSE(s.changed);
  EXPECT_EQ(ServiceNames(s.snapshot), (Names{"a"}));
  EXPECT_EQ(s.errors.size(), 1u);

  // Back again, unchanged: nothing to decode, nothing changed.
  fs::rename(tmp.Path("m.old"), tmp.Path("m"));
  s = dir.Reload();
  EXPECT_FALSE(s.changed);
  EXPECT_EQ(Messages(s), Names{});
  EXPECT_EQ(dir.decoded_files(), 1u);
}

}  // namespace
}  // namespace meridian::sources
