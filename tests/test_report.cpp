// `vmunet report` on a database the test fills (two sweeps, seeds, a failed and a pending run, a
// row never run): golden md, csv and latex text whose means, sample stds and n are worked out by
// hand below; the paper's tables with our rows "—" where nothing was measured; figures drawn by
// gnuplot and decoded with OpenCV; without gnuplot one line and the tables still written.
#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "report/figures.h"
#include "report/paper_tables.h"
#include "storage/results_db.h"
#include "tests/remove_tree.h"
#include "tests/run_binary.h"

namespace vmunet {
namespace {
namespace fs = std::filesystem;

class Report : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("vmunet_report_" + std::to_string(::getpid()));
    test::remove_tree(dir);
    fs::create_directories(dir);
    db_path = (dir / "results.db").string();
    fill();
  }
  void TearDown() override { test::remove_tree(dir); }

  // A run of `sweep` with the config `config` and, when done, these test metrics.
  int64_t add_run(ResultsDb& db, int64_t sweep, const std::string& key,
                  const nlohmann::json& config, RunStatus status,
                  const std::map<std::string, double>& metrics = {}) {
    RunRecord r;
    r.run_key = key;
    r.status = status;
    r.config_json = config.dump();
    const int64_t id = db.upsert_run(r);
    db.add_run_to_sweep(sweep, id);
    for (const auto& [name, value] : metrics) db.record_metric(id, "test", name, value);
    return id;
  }

  void fill() {
    ResultsDb db(db_path);
    const nlohmann::json quick_spec = {{"name", "quickstart"},
                                       {"base", "../quickstart.json"},
                                       {"axes", {{"model.drop_path_rate", {0.0, 0.1}}}},
                                       {"seeds", {1, 2}}};
    const int64_t quick = db.ensure_sweep("quickstart", quick_spec.dump());
    auto qc = [](double dp, int seed) {
      return nlohmann::json{{"name", "quickstart"},
                            {"seed", seed},
                            {"model", {{"drop_path_rate", dp}}},
                            {"data", {{"path", "data/quickstart-64.h5"}}}};
    };
    const int64_t q1 = add_run(db, quick, "q01", qc(0.1, 1), RunStatus::done,
                               {{"miou", 0.50}, {"dsc", 0.60}, {"loss", 0.3}, {"tp", 100}});
    add_run(db, quick, "q02", qc(0.1, 2), RunStatus::done,
            {{"miou", 0.54}, {"dsc", 0.66}, {"loss", 0.5}, {"tp", 120}});
    add_run(db, quick, "q03", qc(0.0, 1), RunStatus::done,
            {{"miou", 0.40}, {"dsc", 0.52}, {"loss", 0.35}, {"tp", 90}});
    add_run(db, quick, "q04", qc(0.0, 2), RunStatus::failed);
    for (int e = 1; e <= 4; ++e) db.record_epoch(q1, {e, 1.0 / e, 1e-3 / e, 1.0, 10.0});
    for (int e : {2, 4}) {
      db.record_evaluation(q1, {e, "test", "dsc", 0.3 * e / 2});
      db.record_evaluation(q1, {e, "test", "miou", 0.2 * e / 2});
    }

    const int64_t t4 = db.ensure_sweep("table4", R"({"name": "table4"})");
    auto tc = [](const std::string& dataset, double dp, int seed) {
      return nlohmann::json{{"name", dataset},
                            {"seed", seed},
                            {"model", {{"drop_path_rate", dp}}},
                            {"data", {{"path", "data/" + dataset + "-256.h5"}}}};
    };
    add_run(db, t4, "a1", tc("isic17", 0.2, 1), RunStatus::done, {{"miou", 0.80}, {"dsc", 0.89}});
    add_run(db, t4, "a2", tc("isic17", 0.2, 2), RunStatus::done, {{"miou", 0.81}, {"dsc", 0.90}});
    add_run(db, t4, "a3", tc("isic17", 0.2, 3), RunStatus::done, {{"miou", 0.82}, {"dsc", 0.91}});
    add_run(db, t4, "a4", tc("isic18", 0.2, 1), RunStatus::pending);
    add_run(db, t4, "a5", tc("isic17", 0.1, 1), RunStatus::done, {{"miou", 0.79}, {"dsc", 0.88}});
    add_run(db, t4, "a6", tc("isic17", 0.5, 1), RunStatus::done, {{"miou", 0.7}, {"dsc", 0.8}});
  }

  test::BinaryRun report(const std::string& args) {
    return test::run_vmunet("report --db '" + db_path + "' " + args);
  }

  fs::path dir;
  std::string db_path;
};

// quickstart: drop path 0.1 has two done seeds, mIoU 50 and 54 (%): mean 52, sample std
// sqrt((2² + 2²) / 1) = 2.828; DSC 60 and 66: mean 63, std sqrt(18) = 4.243; loss 0.3 and 0.5:
// mean 0.4, std sqrt(0.02) = 0.1414. Drop path 0.0 has one done seed (40, 52, 0.35) and a failed
// one, which counts under the table but not in the means. Pixel counts (tp) are not a column.
TEST_F(Report, SweepTableByItsAxesInEachFormat) {
  auto md = report("--sweep quickstart");
  ASSERT_EQ(md.status, 0) << md.output;
  EXPECT_EQ(md.output, R"(### Sweep quickstart

| model.drop_path_rate | done | mIoU (%) | DSC (%) | test loss |
| --- | --- | ---: | ---: | ---: |
| 0.0 | 1 of 2 | 40.00 (n=1) | 52.00 (n=1) | 0.3500 (n=1) |
| 0.1 | 2 of 2 | 52.00 ± 2.83 (n=2) | 63.00 ± 4.24 (n=2) | 0.4000 ± 0.1414 (n=2) |

- runs: 3 of 4 done; not yet done: 1 failed
- mean ± sample std over the done runs (seeds) of each row, n of them
)");
  auto csv = report("--sweep quickstart --format csv");
  ASSERT_EQ(csv.status, 0) << csv.output;
  EXPECT_EQ(csv.output, R"(# Sweep quickstart
model.drop_path_rate,done,mIoU (%),mIoU (%) std,mIoU (%) n,DSC (%),DSC (%) std,DSC (%) n,test loss,test loss std,test loss n
0.0,1 of 2,40.0000,—,1,52.0000,—,1,0.350000,—,1
0.1,2 of 2,52.0000,2.8284,2,63.0000,4.2426,2,0.400000,0.141421,2
# runs: 3 of 4 done; not yet done: 1 failed
# mean ± sample std over the done runs (seeds) of each row, n of them
)");
  auto latex = report("--sweep quickstart --format latex");
  ASSERT_EQ(latex.status, 0) << latex.output;
  EXPECT_EQ(latex.output, R"(% Sweep quickstart
\begin{tabular}{llrrr}
\toprule
model.drop\_path\_rate & done & mIoU (\%) & DSC (\%) & test loss \\
\midrule
0.0 & 1 of 2 & $40.00$ ($n{=}1$) & $52.00$ ($n{=}1$) & $0.3500$ ($n{=}1$) \\
0.1 & 2 of 2 & $52.00 \pm 2.83$ ($n{=}2$) & $63.00 \pm 4.24$ ($n{=}2$) & $0.4000 \pm 0.1414$ ($n{=}2$) \\
\bottomrule
\end{tabular}
% runs: 3 of 4 done; not yet done: 1 failed
% mean ± sample std over the done runs (seeds) of each row, n of them
)");
}

// Table IV: drop path 0.2 on ISIC17 has three seeds, mIoU 80, 81, 82: mean 81, std 1; DSC 89, 90,
// 91: mean 90, std 1; the paper's 80.23 and 89.03 give +0.77 and +0.97. Drop path 0.1 has one
// seed (79, 88: -1.02, -0.90 from the paper's 80.02, 88.90). ISIC18 0.2 is pending; 0.0 and 0.3
// were never run; the 0.5 run matches no row of the paper's table.
const char* const kTable4Md = R"(### Table IV: Dropout (drop-path rate)

| Drop-path rate | Source | ISIC17 mIoU (%) | ISIC17 DSC (%) | ISIC18 mIoU (%) | ISIC18 DSC (%) |
| --- | --- | ---: | ---: | ---: | ---: |
| 0.0 | ours | — | — | — | — |
| 0.0 | paper | 80.45 | 89.17 | 79.33 | 88.47 |
| 0.0 | ours - paper | — | — | — | — |
| 0.1 | ours | 79.00 (n=1) | 88.00 (n=1) | — | — |
| 0.1 | paper | 80.02 | 88.90 | 80.23 | 89.03 |
| 0.1 | ours - paper | -1.02 | -0.90 | — | — |
| 0.2 | ours | 81.00 ± 1.00 (n=3) | 90.00 ± 1.00 (n=3) | — | — |
| 0.2 | paper | 80.23 | 89.03 | 81.35 | 89.71 |
| 0.2 | ours - paper | +0.77 | +0.97 | — | — |
| 0.3 | ours | — | — | — | — |
| 0.3 | paper | 80.20 | 89.02 | 79.72 | 88.71 |
| 0.3 | ours - paper | — | — | — | — |

- runs: 5 of 6 done; not yet done: 1 pending (sweeps table4, table4-*)
- ours: mean ± sample std over the done runs (seeds), n of them; paper: the published value; quoted: the paper's other baselines, not run here; — not measured
- 1 run(s) of these sweeps match no row of this table
)";

TEST_F(Report, PaperTableBesideOursInEachFormat) {
  auto md = report("--table 4");
  ASSERT_EQ(md.status, 0) << md.output;
  EXPECT_EQ(md.output, kTable4Md);
  auto csv = report("--table 4 --format csv");
  ASSERT_EQ(csv.status, 0) << csv.output;
  EXPECT_EQ(csv.output, R"(# Table IV: Dropout (drop-path rate)
Drop-path rate,Source,ISIC17 mIoU (%),ISIC17 mIoU (%) std,ISIC17 mIoU (%) n,ISIC17 DSC (%),ISIC17 DSC (%) std,ISIC17 DSC (%) n,ISIC18 mIoU (%),ISIC18 mIoU (%) std,ISIC18 mIoU (%) n,ISIC18 DSC (%),ISIC18 DSC (%) std,ISIC18 DSC (%) n
0.0,ours,—,—,—,—,—,—,—,—,—,—,—,—
0.0,paper,80.45,—,—,89.17,—,—,79.33,—,—,88.47,—,—
0.0,ours - paper,—,—,—,—,—,—,—,—,—,—,—,—
0.1,ours,79.0000,—,1,88.0000,—,1,—,—,—,—,—,—
0.1,paper,80.02,—,—,88.90,—,—,80.23,—,—,89.03,—,—
0.1,ours - paper,-1.02,—,—,-0.90,—,—,—,—,—,—,—,—
0.2,ours,81.0000,1.0000,3,90.0000,1.0000,3,—,—,—,—,—,—
0.2,paper,80.23,—,—,89.03,—,—,81.35,—,—,89.71,—,—
0.2,ours - paper,+0.77,—,—,+0.97,—,—,—,—,—,—,—,—
0.3,ours,—,—,—,—,—,—,—,—,—,—,—,—
0.3,paper,80.20,—,—,89.02,—,—,79.72,—,—,88.71,—,—
0.3,ours - paper,—,—,—,—,—,—,—,—,—,—,—,—
# runs: 5 of 6 done; not yet done: 1 pending (sweeps table4, table4-*)
# ours: mean ± sample std over the done runs (seeds), n of them; paper: the published value; quoted: the paper's other baselines, not run here; — not measured
# 1 run(s) of these sweeps match no row of this table
)");
  auto latex = report("--table 4 --format latex");
  ASSERT_EQ(latex.status, 0) << latex.output;
  EXPECT_EQ(latex.output, R"(% Table IV: Dropout (drop-path rate)
\begin{tabular}{llrrrr}
\toprule
Drop-path rate & Source & ISIC17 mIoU (\%) & ISIC17 DSC (\%) & ISIC18 mIoU (\%) & ISIC18 DSC (\%) \\
\midrule
0.0 & ours & --- & --- & --- & --- \\
0.0 & paper & 80.45 & 89.17 & 79.33 & 88.47 \\
0.0 & ours - paper & --- & --- & --- & --- \\
0.1 & ours & $79.00$ ($n{=}1$) & $88.00$ ($n{=}1$) & --- & --- \\
0.1 & paper & 80.02 & 88.90 & 80.23 & 89.03 \\
0.1 & ours - paper & -1.02 & -0.90 & --- & --- \\
0.2 & ours & $81.00 \pm 1.00$ ($n{=}3$) & $90.00 \pm 1.00$ ($n{=}3$) & --- & --- \\
0.2 & paper & 80.23 & 89.03 & 81.35 & 89.71 \\
0.2 & ours - paper & +0.77 & +0.97 & --- & --- \\
0.3 & ours & --- & --- & --- & --- \\
0.3 & paper & 80.20 & 89.02 & 79.72 & 88.71 \\
0.3 & ours - paper & --- & --- & --- & --- \\
\bottomrule
\end{tabular}
% runs: 5 of 6 done; not yet done: 1 pending (sweeps table4, table4-*)
% ours: mean ± sample std over the done runs (seeds), n of them; paper: the published value; quoted: the paper's other baselines, not run here; — not measured
% 1 run(s) of these sweeps match no row of this table
)");
}

// Every paper table with nothing measured: ours "—", never 0; the paper's baselines quoted;
// Table V's parameter counts exact (the official code's) and GFLOPs as the paper's.
TEST_F(Report, AllTablesQuoteThePaperAndComputeTableV) {
  auto all = report("--table all");
  ASSERT_EQ(all.status, 0) << all.output;
  for (const char* title :
       {"Table I: ", "Table II: ", "Table III: ", "Table IV: ", "Table V: ", "Table VI: "})
    EXPECT_NE(all.output.find(title), std::string::npos) << title;
  EXPECT_NE(all.output.find("| ISIC18 | VM-UNet | ours | — | — | — | — | — |"), std::string::npos);
  EXPECT_NE(
      all.output.find("| ISIC17 | TransFuse | quoted | 79.21 | 88.40 | 96.17 | 97.98 | 87.14 |"),
      std::string::npos);
  EXPECT_NE(all.output.find("| UCTransNet | quoted | 78.23 | 26.75 | — | — |"), std::string::npos);
  EXPECT_NE(all.output.find("| VM-UNet | ours, HD95 per organ |"), std::string::npos);
  for (const char* row : {"| 2,2,2,2-2,2,2,1 | ours | 27.427561 | 4.11 | — |",
                          "| 2,2,2,2-2,2,2,2 | ours | 27.532969 | 4.35 | — |",
                          "| 2,2,3,2-2,3,2,2 | ours | 29.924521 | 4.81 | — |",
                          "| 2,2,4,2-2,4,2,2 | ours | 32.316073 | 5.27 | — |",
                          "| 2,2,9,2-2,9,2,2 | ours | 44.273833 | 7.56 | — |",
                          "| 2,2,2,2-2,2,2,1 | ours - paper | +0.00 | +0.00 | — |"})
    EXPECT_NE(all.output.find(row), std::string::npos) << row;
  EXPECT_NE(all.output.find("| 512x512 | paper | 70.88 | 82.96 | 72.36 | 83.96 |"),
            std::string::npos);
  EXPECT_EQ(all.output.find("| 0.00 |"), std::string::npos);  // nothing unmeasured shows as 0
  EXPECT_NE(all.output.find("- runs: none recorded (sweeps table1, table1-*)"), std::string::npos);
}

TEST_F(Report, WritesOneFilePerTableAndRefusesUnknownInput) {
  auto r = report("--sweep quickstart --table 4 --out '" + (dir / "tables").string() + "'");
  ASSERT_EQ(r.status, 0) << r.output;
  std::ifstream in(dir / "tables" / "table4.md");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), kTable4Md);
  EXPECT_TRUE(fs::exists(dir / "tables" / "sweep-quickstart.md"));

  auto unknown = report("--sweep nope");
  EXPECT_NE(unknown.status, 0);
  EXPECT_EQ(unknown.output, "vmunet: error: --sweep nope: no such sweep in " + db_path +
                                " (it has: quickstart, table4)\n");
  EXPECT_EQ(report("--table 7").output, "vmunet: error: --table 7: expected 1..6 or all\n");
  EXPECT_EQ(report("--table 1 --format html").output,
            "vmunet: error: --format html: expected md, csv or latex\n");
}

TEST_F(Report, FiguresArePngsOfTheExpectedSize) {
  if (report::find_gnuplot().empty())
    GTEST_SKIP() << "gnuplot not installed (scripts/install_deps.sh)";
  const auto figures = dir / "figures";
  auto r = report("--sweep quickstart --table 4 --figures '" + figures.string() + "'");
  ASSERT_EQ(r.status, 0) << r.output;
  // Only q01 has recorded epochs; table4 is the ablation chart.
  for (const auto& [name, width, height] :
       {std::tuple{"run-q01.png", 900, 700}, std::tuple{"table4.png", 1000, 700}}) {
    const cv::Mat png = cv::imread((figures / name).string(), cv::IMREAD_UNCHANGED);
    ASSERT_FALSE(png.empty()) << name << " missing or not a PNG:\n" << r.output;
    EXPECT_EQ(png.cols, width) << name;
    EXPECT_EQ(png.rows, height) << name;
    EXPECT_NE(r.output.find((figures / name).string()), std::string::npos) << r.output;
  }
  EXPECT_FALSE(fs::exists(figures / "run-q02.png"));
}

TEST_F(Report, WithoutGnuplotOneLineAndTheTablesStillWritten) {
  const std::string path = std::getenv("PATH");
  setenv("PATH", (dir / "empty").c_str(), 1);
  auto r = report("--table 4 --figures '" + (dir / "figures").string() + "'");
  setenv("PATH", path.c_str(), 1);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.output,
            std::string(kTable4Md) + "vmunet: gnuplot not found on PATH, so no figures in " +
                (dir / "figures").string() +
                " (install gnuplot-nox: scripts/install_deps.sh); the tables are written\n");
}

}  // namespace
}  // namespace vmunet
