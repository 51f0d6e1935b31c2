#include "support/fixtures.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace changefeed::test {

std::string read_fixture(const std::string& relative) {
    std::string path = std::string(CHANGEFEED_TEST_FIXTURES) + "/" + relative;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw std::runtime_error("cannot read fixture " + path);
    }
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace changefeed::test
