// A fresh directory per test, removed afterwards, and a check that a test left nothing else in it.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <initializer_list>
#include <string>

namespace magcnn::test {

class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = std::filesystem::temp_directory_path() /
          ("magcnn_test_" + std::to_string(::getpid()) + "_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  void TearDown() override { std::filesystem::remove_all(dir); }
  std::string path(const std::string& name) const { return (dir / name).string(); }
  // Nothing but `keep` in the directory: no temporaries or partial outputs left behind.
  void expect_only(std::initializer_list<std::string> keep) const {
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      const std::string name = e.path().filename().string();
      EXPECT_TRUE(std::find(keep.begin(), keep.end(), name) != keep.end()) << "left behind: " << name;
    }
  }
  std::filesystem::path dir;
};

}  // namespace magcnn::test
