// The agent protocol's framing over real socket pairs and pipes, and records
// handed over as memfds: descriptors travel with their own header and no
// other, and a record mapped from a memfd is the record its text is.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>

#include <filesystem>

#include <string>
#include <thread>

#include "agent_channel.hpp"
#include "step_record.hpp"

namespace sonda {
namespace {

struct Pair {
  int fd[2] = {-1, -1};
  Pair() { EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fd), 0) << std::strerror(errno); }
  ~Pair() {
    for (int f : fd) {
      if (f >= 0) ::close(f);
    }
  }
};

/// A memfd holding `text` and a NUL, sealed as an agent seals it (or not).
int memfd_with(const std::string& text, bool seal) {
  const int fd = memfd_create("test-record", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  EXPECT_GE(fd, 0) << std::strerror(errno);
  const std::string bytes = text + '\0';
  EXPECT_EQ(::write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  if (seal) {
    EXPECT_EQ(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE), 0) << std::strerror(errno);
  }
  return fd;
}

ino_t inode_of(int fd) {
  struct stat st {};
  EXPECT_EQ(fstat(fd, &st), 0);
  return st.st_ino;
}

TEST(FrameChannel, ADescriptorArrivesWithItsOwnHeaderBetweenOtherFrames) {
  Pair p;
  FrameWriter out(p.fd[0]);
  const int memfd = memfd_with(R"({"a": 1})", true);
  // Written before anything is read: the reader gets them in one go and
  // must still give the descriptor to the second frame only.
  ASSERT_TRUE(out.write({{"type", "record"}, {"id", "1"}}, std::string(100'000, 'x')));
  ASSERT_TRUE(out.write_with_fd({{"type", "record"}, {"id", "2"}, {"memfd", 8}}, memfd));
  ASSERT_TRUE(out.write({{"type", "result"}, {"id", "2"}}));
  ::close(p.fd[0]);
  p.fd[0] = -1;

  FrameReader in(p.fd[1]);
  Frame f;
  ASSERT_TRUE(in.next(f)) << in.error();
  EXPECT_EQ(f.header["id"], "1");
  EXPECT_EQ(f.payload.size(), 100'000u);
  EXPECT_LT(f.fd.get(), 0);
  ASSERT_TRUE(in.next(f)) << in.error();
  EXPECT_EQ(f.header["id"], "2");
  ASSERT_GE(f.fd.get(), 0);
  EXPECT_EQ(inode_of(f.fd.get()), inode_of(memfd)) << "the same memfd, not a copy";
  EXPECT_NE(fcntl(f.fd.get(), F_GETFD) & FD_CLOEXEC, 0) << "received descriptors are close-on-exec";
  ASSERT_TRUE(in.next(f)) << in.error();
  EXPECT_EQ(f.type(), "result");
  EXPECT_LT(f.fd.get(), 0) << "the previous frame's descriptor is not carried over";
  EXPECT_FALSE(in.next(f));
  EXPECT_EQ(in.error(), "");
  ::close(memfd);
}

TEST(FrameChannel, AHeaderAnnouncingADescriptorThatDidNotComeEndsTheChannel) {
  Pair p;
  FrameWriter out(p.fd[0]);
  ASSERT_TRUE(out.write({{"type", "record"}, {"id", "1"}, {"memfd", 8}}));  // no descriptor
  FrameReader in(p.fd[1]);
  Frame f;
  EXPECT_FALSE(in.next(f));
  EXPECT_EQ(in.error(), "a message announced a descriptor that did not come with it");
}

TEST(FrameChannel, APipeCannotCarryADescriptorAndWritesNothing) {
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
  FrameWriter out(fds[1]);
  const int memfd = memfd_with("{}", true);
  EXPECT_FALSE(out.write_with_fd({{"type", "record"}, {"id", "1"}, {"memfd", 2}}, memfd));
  char byte;
  EXPECT_EQ(::read(fds[0], &byte, 1), -1) << "nothing was written";
  EXPECT_EQ(errno, EAGAIN);
  // Frames without one still go through a pipe, and a reader takes them.
  ASSERT_TRUE(out.write({{"type", "bye"}}));
  ::close(fds[1]);
  FrameReader in(fds[0]);
  Frame f;
  ASSERT_TRUE(in.next(f)) << in.error();
  EXPECT_EQ(f.type(), "bye");
  ::close(fds[0]);
  ::close(memfd);
}

TEST(StepRecord, AMemfdRecordIsTheRecordItsTextIsAndTheMemfdIsLeftAsItWas) {
  const std::string text = "{\"summary\": \"two\",\r\n \"sockets\": [1,\n 2], \"nested\": {\"n\": 3}}";
  const int fd = memfd_with(text, true);
  std::string problem = "stale";
  const StepRecord mapped = StepRecord::from_memfd(fd, text.size(), problem);
  EXPECT_EQ(problem, "");
  ASSERT_TRUE(mapped.is_text());
  std::string copy = text;
  EXPECT_EQ(mapped, StepRecord::from_text(std::move(copy), problem));
  EXPECT_EQ(mapped.top()["summary"], "two");
  EXPECT_EQ(mapped.top()["nested"]["n"], 3);
  // The layout was rewritten in the runner's private pages, not in the memfd.
  std::string back(text.size(), '\0');
  ASSERT_EQ(pread(fd, back.data(), back.size(), 0), static_cast<ssize_t>(back.size()));
  EXPECT_EQ(back, text);
  ::close(fd);  // the mapping outlives the descriptor
  EXPECT_EQ(mapped.tree()["sockets"], nlohmann::json({1, 2}));
}

// A record file a local agent wrote and checked: mapped as it is, with the
// skeleton the agent sent; the wrong size or no file is a problem.
TEST(StepRecord, ARecordFileIsMappedWithTheSkeletonItsAgentSent) {
  const std::string dir = ::testing::TempDir() + "record-file-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/scan.json";
  const std::string text = "{\"summary\": \"two\",\n \"sockets\": [1, 2]}";
  std::ofstream(path) << text << "\n";
  std::string problem = "stale";
  const StepRecord r = StepRecord::from_file(path, text.size(), {{"summary", "two"}}, problem);
  EXPECT_EQ(problem, "");
  ASSERT_TRUE(r.is_text());
  EXPECT_EQ(r.file(), path);
  EXPECT_EQ(r.text(), text);
  EXPECT_EQ(r.top()["summary"], "two");
  EXPECT_EQ(r.tree()["sockets"], nlohmann::json({1, 2}));
  StepRecord edited = r;
  edited.edit()["more"] = 1;
  EXPECT_EQ(edited.file(), "") << "an edited record is not its file any more";

  const StepRecord wrong = StepRecord::from_file(path, text.size() + 5, {{"summary", "two"}}, problem);
  EXPECT_FALSE(wrong.is_text());
  EXPECT_NE(problem.find("is not the"), std::string::npos) << problem;
  const StepRecord missing = StepRecord::from_file(dir + "/none.json", 10, nlohmann::json::object(), problem);
  EXPECT_FALSE(missing.is_text());
  EXPECT_NE(problem.find("unreadable"), std::string::npos) << problem;
  std::filesystem::remove_all(dir);
}

TEST(StepRecord, AMemfdThatIsNotSealedOrNotTheAnnouncedSizeIsAProblemNotACrash) {
  const std::string text = R"({"a": 1})";
  std::string problem;
  const int unsealed = memfd_with(text, false);
  const StepRecord a = StepRecord::from_memfd(unsealed, text.size(), problem);
  EXPECT_FALSE(a.is_text());
  EXPECT_NE(problem.find("not a sealed memfd"), std::string::npos) << problem;
  const int sealed = memfd_with(text, true);
  const StepRecord b = StepRecord::from_memfd(sealed, text.size() + 100, problem);
  EXPECT_FALSE(b.is_text());
  EXPECT_NE(problem.find("of 108 bytes"), std::string::npos) << problem;
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
  const StepRecord c = StepRecord::from_memfd(fds[0], 0, problem);
  EXPECT_NE(problem.find("unusable record descriptor"), std::string::npos) << problem;
  const int not_json = memfd_with("{\"a\": ", true);
  const StepRecord d = StepRecord::from_memfd(not_json, 6, problem);
  EXPECT_EQ(problem, "not JSON");
  EXPECT_EQ(d.tree()["invalid_json"], "{\"a\": ");
  for (int fd : {unsealed, sealed, fds[0], fds[1], not_json}) ::close(fd);
}

}  // namespace
}  // namespace sonda
