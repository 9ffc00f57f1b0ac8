//! Policy files: native TOML and OCI/Docker JSON. (To be written.)
