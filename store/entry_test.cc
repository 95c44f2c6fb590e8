#include "store/entry.h"
#include <gtest/gtest.h>
TEST(EntryTest, Placeholder) { basefs::CryptoInit(); }
