{
  "targets": [
    {
      "target_name": "p11batch",
      "sources": ["src/p11batch.c"],
      "include_dirs": ["/usr/include/p11-kit-1/p11-kit"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Werror"],
      "libraries": ["-ldl"]
    }
  ]
}
