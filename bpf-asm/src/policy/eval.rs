//! The meaning of a policy: [`evaluate`], written independently of the
//! compiler. (To be written.)
