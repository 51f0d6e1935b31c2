#include "support/child_process.hpp"

#include <chrono>
#include <fcntl.h>
#include <fstream>
#include <signal.h>
#include <spawn.h>
#include <stdexcept>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace changefeed::test {

child_process::child_process(const std::string& program, const std::vector<std::string>& args,
                             const std::string& log_path) {
    std::vector<std::string> all{program};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (!log_path.empty()) {
        posix_spawn_file_actions_addopen(&actions, 2, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    int rc = posix_spawn(&pid_, program.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
        throw std::runtime_error("cannot start " + program);
    }
}

child_process::~child_process() {
    if (!reaped_ && pid_ > 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status_, 0);
    }
}

bool child_process::signal(int sig) const { return !reaped_ && ::kill(pid_, sig) == 0; }

int child_process::wait(int timeout_ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!reaped_) {
        int rc = ::waitpid(pid_, &status_, WNOHANG);
        if (rc == pid_) {
            reaped_ = true;
            break;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            return -1;
        }
        // Polling waitpid is the portable way to wait with a deadline for a child.
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (WIFEXITED(status_)) {
        return WEXITSTATUS(status_);
    }
    return 128 + WTERMSIG(status_);
}

std::string changefeed_binary() { return CHANGEFEED_BINARY; }

unsigned short wait_for_listening_port(const std::string& log_path, int timeout_ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
        std::ifstream in(log_path);
        std::string line;
        while (std::getline(in, line)) {
            if (line.find("\"msg\":\"listening\"") == std::string::npos) {
                continue;
            }
            auto at = line.find("\"port\":");
            if (at != std::string::npos) {
                return static_cast<unsigned short>(std::stoi(line.substr(at + 7)));
            }
        }
        // The log is a file another process writes: polling it is the only way to wait.
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return 0;
}

}  // namespace changefeed::test
