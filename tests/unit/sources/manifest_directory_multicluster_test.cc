// ManifestDirectory with ServiceExports and Clusters: conflicts between
// files, incumbent wins.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sources/manifest_directory.h"
#include "temp_dir.h"

namespace meridian::sources {
namespace {

using meridian::test_support::TempDir;

using Names = std::vector<std::string>;

std::string Cluster(const std::string& name, int id, const std::string& pod_cidrs) {
  return "apiVersion: meridian.io/v1alpha1\nkind: Cluster\nmetadata:\n  name: " + name +
         "\nspec:\n  id: " + std::to_string(id) + "\n  podCIDRs: " + pod_cidrs +
         "\n  gateway: 172.16.0." + std::to_string(id) + "\n";
}

std::string Export(const std::string& name, const std::string& ns = "default") {
  return "apiVersion: multicluster.x-k8s.io/v1alpha1\nkind: ServiceExport\nmetadata:\n  name: " +
         name + "\n  namespace: " + ns + "\n";
}

std::vector<std::string> Messages(const ManifestDirectoryState& s) {
  std::vector<std::string> out;
  for (const auto& e : s.errors) out.push_back(e.message);
  return out;
}

Names ClusterNames(const model::ResourceSnapshot& s) {
  Names out;
  for (const auto& c : s.clusters) out.push_back(c.meta.key.name);
  return out;
}

// Writes `first` and reloads, so it is the incumbent, then writes `second`
// and returns the state of the next Reload.
struct Step {
  std::string file;
  std::string content;
};
ManifestDirectoryState Incumbent(const TempDir& tmp, const Step& first, const Step& second) {
  ManifestDirectory dir(tmp.path());
  tmp.Write(first.file, first.content);
  ManifestDirectoryState s = dir.Reload();
  EXPECT_EQ(Messages(s), Names{});
  tmp.Write(second.file, second.content);
  return dir.Reload();
}

TEST(ManifestDirectoryMulticlusterTest, LoadsClustersAndExports) {
  TempDir tmp;
  tmp.Write("clusters.yaml", Cluster("east", 2, "[10.2.0.0/16]") + "---\n" +
                                 Cluster("west", 3, "[10.3.0.0/16, 10.4.0.0/16]"));
  // No Service "web" anywhere: an export without its Service is fine.
  tmp.Write("exports.yaml", Export("web") + "---\n" + Export("web", "shop"));
  ManifestDirectory dir(tmp.path());
  ManifestDirectoryState s = dir.Reload();
  EXPECT_EQ(Messages(s), Names{});
  EXPECT_TRUE(s.changed);
  EXPECT_EQ(ClusterNames(s.snapshot), (Names{"east", "west"}));
  EXPECT_EQ(s.snapshot.clusters.at(1).id, 3u);
  EXPECT_EQ(s.snapshot.clusters.at(1).meta.source,
            (model::SourceRef{tmp.Path("clusters.yaml"), 1}));
  ASSERT_EQ(s.snapshot.service_exports.size(), 2u);
  EXPECT_EQ(s.snapshot.service_exports[1].meta.key, (model::ObjectKey{"shop", "web"}));
  EXPECT_TRUE(s.snapshot.services.empty());

  // Deleting a file takes its objects along.
  tmp.Remove("clusters.yaml");
  s = dir.Reload();
  EXPECT_TRUE(s.changed);
  EXPECT_TRUE(s.snapshot.clusters.empty());
  EXPECT_EQ(s.snapshot.service_exports.size(), 2u);
}

TEST(ManifestDirectoryMulticlusterTest, DuplicateClusterNameIsRejectedInBothOrders) {
  {
    TempDir tmp;
    ManifestDirectoryState s = Incumbent(tmp, {"a.yaml", Cluster("east", 2, "[10.2.0.0/16]")},
                                         {"b.yaml", Cluster("east", 2, "[10.2.0.0/16]")});
    EXPECT_EQ(Messages(s), (Names{tmp.Path("b.yaml") +
                                  ": document 1: Cluster east: already "
                                  "defined in " +
                                  tmp.Path("a.yaml") + " (document 1)"}));
    ASSERT_EQ(s.snapshot.clusters.size(), 1u);
    EXPECT_EQ(s.snapshot.clusters[0].meta.source.file, tmp.Path("a.yaml"));
  }
  {
    TempDir tmp;
    ManifestDirectoryState s = Incumbent(tmp, {"b.yaml", Cluster("east", 2, "[10.2.0.0/16]")},
                                         {"a.yaml", Cluster("east", 5, "[10.5.0.0/16]")});
    EXPECT_EQ(Messages(s), (Names{tmp.Path("a.yaml") +
                                  ": document 1: Cluster east: already "
                                  "defined in " +
                                  tmp.Path("b.yaml") + " (document 1)"}));
    ASSERT_EQ(s.snapshot.clusters.size(), 1u);
    EXPECT_EQ(s.snapshot.clusters[0].meta.source.file, tmp.Path("b.yaml"));
    EXPECT_EQ(s.snapshot.clusters[0].id, 2u);
  }
}

TEST(ManifestDirectoryMulticlusterTest, DuplicateClusterIdIsRejectedInBothOrders) {
  {
    TempDir tmp;
    ManifestDirectoryState s = Incumbent(tmp, {"east.yaml", Cluster("east", 2, "[10.2.0.0/16]")},
                                         {"west.yaml", Cluster("west", 2, "[10.3.0.0/16]")});
    EXPECT_EQ(Messages(s), (Names{tmp.Path("west.yaml") +
                                  ": document 1: Cluster west: spec.id: 2 is already used by "
                                  "Cluster east (" +
                                  tmp.Path("east.yaml") + ")"}));
    EXPECT_EQ(ClusterNames(s.snapshot), (Names{"east"}));
  }
  {
    TempDir tmp;
    ManifestDirectoryState s = Incumbent(tmp, {"west.yaml", Cluster("west", 2, "[10.3.0.0/16]")},
                                         {"east.yaml", Cluster("east", 2, "[10.2.0.0/16]")});
    EXPECT_EQ(Messages(s), (Names{tmp.Path("east.yaml") +
                                  ": document 1: Cluster east: spec.id: 2 is already used by "
                                  "Cluster west (" +
                                  tmp.Path("west.yaml") + ")"}));
    EXPECT_EQ(ClusterNames(s.snapshot), (Names{"west"}));
  }
}

TEST(ManifestDirectoryMulticlusterTest, OverlappingPodCidrsAreRejectedInBothOrders) {
  {
    TempDir tmp;
    ManifestDirectoryState s =
        Incumbent(tmp, {"east.yaml", Cluster("east", 2, "[10.9.0.0/16, 10.1.2.0/24]")},
                  {"west.yaml", Cluster("west", 3, "[10.1.0.0/16]")});
    EXPECT_EQ(Messages(s), (Names{tmp.Path("west.yaml") +
                                  ": document 1: Cluster west: spec.podCIDRs[0]: 10.1.0.0/16 "
                                  "overlaps 10.1.2.0/24 of Cluster east (" +
                                  tmp.Path("east.yaml") + ")"}));
    EXPECT_EQ(ClusterNames(s.snapshot), (Names{"east"}));
  }
  {
    TempDir tmp;
    ManifestDirectoryState s = Incumbent(tmp, {"west.yaml", Cluster("west", 3, "[10.1.0.0/16]")},
                                         {"east.yaml", Cluster("east", 2,
                                                               "[10.9.0.0/16, "
                                                               "10.1.2.0/24]")});
    EXPECT_EQ(Messages(s), (Names{tmp.Path("east.yaml") +
                                  ": document 1: Cluster east: spec.podCIDRs[1]: 10.1.2.0/24 "
                                  "overlaps 10.1.0.0/16 of Cluster west (" +
                                  tmp.Path("west.yaml") + ")"}));
    EXPECT_EQ(ClusterNames(s.snapshot), (Names{"west"}));
  }
}

TEST(ManifestDirectoryMulticlusterTest, ReportsEveryConflictOfACluster) {
  TempDir tmp;
  ManifestDirectoryState s =
      Incumbent(tmp, {"east.yaml", Cluster("east", 2, "[10.2.0.0/16, 10.4.0.0/16]")},
                {"west.yaml", Cluster("west", 2, "[10.0.0.0/8]")});
  // 10.0.0.0/8 contains both CIDRs of east; the first is named.
  EXPECT_EQ(Messages(s),
            (Names{tmp.Path("west.yaml") +
                       ": document 1: Cluster west: spec.id: 2 is already "
                       "used by Cluster east (" +
                       tmp.Path("east.yaml") + ")",
                   tmp.Path("west.yaml") +
                       ": document 1: Cluster west: spec.podCIDRs[0]: 10.0.0.0/8 overlaps "
                       "10.2.0.0/16 of Cluster east (" +
                       tmp.Path("east.yaml") + ")"}));
}

TEST(ManifestDirectoryMulticlusterTest, AdjacentPodCidrsDoNotOverlap) {
  TempDir tmp;
  tmp.Write("a.yaml", Cluster("a", 1, "[10.0.0.0/16, 10.2.0.0/15]"));
  tmp.Write("b.yaml", Cluster("b", 2, "[10.1.0.0/16, 10.4.0.0/32]"));
  tmp.Write("c.yaml", Cluster("c", 3, "[10.4.0.1/32, 10.4.0.2/31, 10.4.0.4/30]"));
  ManifestDirectory dir(tmp.path());
  ManifestDirectoryState s = dir.Reload();
  EXPECT_EQ(Messages(s), Names{});
  EXPECT_EQ(ClusterNames(s.snapshot), (Names{"a", "b", "c"}));
}

TEST(ManifestDirectoryMulticlusterTest, ConflictsInsideOneFileAreRejected) {
  TempDir tmp;
  tmp.Write("clusters.yaml", Cluster("east", 2, "[10.2.0.0/16]") + "---\n" +
                                 Cluster("west", 2, "[10.2.128.0/17]") + "---\n" +
                                 Cluster("east", 4, "[10.4.0.0/16]"));
  ManifestDirectory dir(tmp.path());
  ManifestDirectoryState s = dir.Reload();
  const std::string file = tmp.Path("clusters.yaml");
  EXPECT_EQ(
      Messages(s),
      (Names{file +
                 ": document 2: Cluster west: spec.id: 2 is already used by Cluster "
                 "east (" +
                 file + ")",
             file +
                 ": document 2: Cluster west: spec.podCIDRs[0]: 10.2.128.0/17 overlaps "
                 "10.2.0.0/16 of Cluster east (" +
                 file + ")",
             file + ": document 3: Cluster east: already defined in " + file + " (document 1)"}));
  // Only the conflicting objects are rejected, never the rest of the file.
  EXPECT_EQ(ClusterNames(s.snapshot), (Names{"east"}));
  EXPECT_EQ(s.snapshot.clusters.at(0).id, 2u);
}

TEST(ManifestDirectoryMulticlusterTest, ClusterMayChangeItsOwnIdAndCidrs) {
  TempDir tmp;
  ManifestDirectoryState s = Incumbent(tmp, {"east.yaml", Cluster("east", 2, "[10.2.0.0/16]")},
                                       {"east.yaml", Cluster("east", 2, "[10.2.0.0/15]")});
  EXPECT_EQ(Messages(s), Names{});
  EXPECT_TRUE(s.changed);
  ASSERT_EQ(s.snapshot.clusters.size(), 1u);
  EXPECT_EQ(s.snapshot.clusters[0].pod_cidrs.at(0).prefix_len(), 15);
}

TEST(ManifestDirectoryMulticlusterTest, RejectedClusterIsAcceptedOnceTheIncumbentLeaves) {
  TempDir tmp;
  tmp.Write("east.yaml", Cluster("east", 2, "[10.2.0.0/16]"));
  tmp.Write("west.yaml", Cluster("west", 2, "[10.2.0.0/16]"));
  ManifestDirectory dir(tmp.path());
  ManifestDirectoryState s = dir.Reload();
  EXPECT_EQ(s.errors.size(), 2u);  // spec.id and spec.podCIDRs[0]
  EXPECT_EQ(ClusterNames(s.snapshot), (Names{"east"}));
  tmp.Remove("east.yaml");
  s = dir.Reload();
  EXPECT_EQ(Messages(s), Names{});
  EXPECT_EQ(ClusterNames(s.snapshot), (Names{"west"}));
}

TEST(ManifestDirectoryMulticlusterTest, DuplicateServiceExportIsRejectedInBothOrders) {
  {
    TempDir tmp;
    ManifestDirectoryState s =
        Incumbent(tmp, {"a.yaml", Export("web", "shop")},
                  {"b.yaml", Export("db") + "---\n" + Export("web", "shop")});
    EXPECT_EQ(Messages(s), (Names{tmp.Path("b.yaml") +
                                  ": document 2: ServiceExport shop/web: already defined in " +
                                  tmp.Path("a.yaml") + " (document 1)"}));
    // b.yaml's other export is served: a conflict rejects only its objects.
    ASSERT_EQ(s.snapshot.service_exports.size(), 2u);
    EXPECT_EQ(s.snapshot.service_exports[0].meta.source.file, tmp.Path("a.yaml"));
    EXPECT_EQ(s.snapshot.service_exports[1].meta.key.name, "db");
  }
  {
    TempDir tmp;
    ManifestDirectoryState s =
        Incumbent(tmp, {"b.yaml", Export("web", "shop")}, {"a.yaml", Export("web", "shop")});
    EXPECT_EQ(Messages(s), (Names{tmp.Path("a.yaml") +
                                  ": document 1: ServiceExport shop/web: already defined in " +
                                  tmp.Path("b.yaml") + " (document 1)"}));
    ASSERT_EQ(s.snapshot.service_exports.size(), 1u);
    EXPECT_EQ(s.snapshot.service_exports[0].meta.source.file, tmp.Path("b.yaml"));
  }
  // The same name in another namespace is another export.
  TempDir tmp;
  ManifestDirectoryState s =
      Incumbent(tmp, {"a.yaml", Export("web", "shop")}, {"b.yaml", Export("web", "blog")});
  EXPECT_EQ(Messages(s), Names{});
  EXPECT_EQ(s.snapshot.service_exports.size(), 2u);
}

}  // namespace
}  // namespace meridian::sources
