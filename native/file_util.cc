#include "file_util.h"

namespace annals {

void PublishFile(const FileDescriptor& fd, const std::string& tmp, const std::string& path,
                 const std::string& dir) {
  try {
    SyncData(fd, tmp);
    RenameFile(tmp, path);
  } catch (...) {
    RemoveFileQuietly(tmp);
    throw;
  }
  SyncDirectory(dir);
}

}  // namespace annals
