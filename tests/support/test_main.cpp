// GoogleTest entry point shared by the test executables: logs are quiet unless CHANGEFEED_TEST_LOG is set.
#include "core/log.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    if (std::getenv("CHANGEFEED_TEST_LOG") == nullptr) {
        changefeed::log::set_level(changefeed::log::level::error);
    }
    return RUN_ALL_TESTS();
}
