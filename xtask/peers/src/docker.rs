//! An OCI/Docker profile as the libseccomp rules Docker and runc add for it
//! on native amd64: moby's `includes`/`excludes` filtering by architecture,
//! capability and kernel version, runc's `getAction` for actions, and runc's
//! `matchCall`, which splits an entry with two conditions on one argument
//! into one rule per condition (libseccomp refuses them in one rule).

use std::ffi::c_uint;
use std::path::Path;

use serde_json::Value;

use crate::libseccomp::{Libseccomp, Names, Rules, ScmpArgCmp, ScmpCompare};
use crate::Error;

/// How a profile is loaded: the container's capabilities, the kernel
/// version compared with `minKernel`, and which names become rules.
#[derive(Clone, Debug)]
pub struct Load<'a> {
    /// The capabilities the container has (Docker's default set, plus
    /// `--cap-add`).
    pub caps: &'a [String],
    /// The kernel version `(major, minor)` compared with `minKernel`.
    pub kernel: (u32, u32),
    /// Which names become rules (runc: [`Names::Known`]).
    pub names: Names,
}

/// runc's `getAction`: an OCI action name (and `errnoRet`) as a return value.
fn action(name: &str, errno: Option<u64>) -> Result<u32, Error> {
    let data = errno.unwrap_or(1) as u32 & 0xffff;
    Ok(match name {
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => 0,
        "SCMP_ACT_KILL_PROCESS" => 0x8000_0000,
        "SCMP_ACT_TRAP" => 0x0003_0000,
        "SCMP_ACT_ERRNO" => 0x0005_0000 | data,
        "SCMP_ACT_TRACE" => 0x7ff0_0000 | data,
        "SCMP_ACT_ALLOW" => 0x7fff_0000,
        "SCMP_ACT_LOG" => 0x7ffc_0000,
        "SCMP_ACT_NOTIFY" => 0x7fc0_0000,
        other => return Err(Error::Profile(format!("unknown action {other:?}"))),
    })
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn kernel_at_least(v: &Value, kernel: (u32, u32)) -> Option<bool> {
    let s = v.as_str()?;
    let mut it = s.split('.');
    let want: (u32, u32) = (it.next()?.parse().ok()?, it.next()?.parse().ok()?);
    Some(kernel >= want)
}

/// moby's `includes`/`excludes` filter for native amd64.
fn kept(e: &Value, caps: &[String], kernel: (u32, u32)) -> bool {
    let x = &e["excludes"];
    if strs(&x["arches"]).iter().any(|a| a == "amd64")
        || strs(&x["caps"]).iter().any(|c| caps.contains(c))
        || kernel_at_least(&x["minKernel"], kernel) == Some(true)
    {
        return false;
    }
    let i = &e["includes"];
    let arches = strs(&i["arches"]);
    if !arches.is_empty() && !arches.iter().any(|a| a == "amd64") {
        return false;
    }
    strs(&i["caps"]).iter().all(|c| caps.contains(c))
        && kernel_at_least(&i["minKernel"], kernel) != Some(false)
}

/// The libseccomp rules runc adds for `profile` (native amd64) loaded as
/// `load` says: entries whose action is the default are skipped, names
/// outside `load.names` are skipped, and an entry with two conditions on one
/// argument becomes one rule per condition.
pub fn profile_rules(lib: &Libseccomp, profile: &Value, load: &Load<'_>) -> Result<Rules, Error> {
    let default = action(
        profile["defaultAction"]
            .as_str()
            .ok_or_else(|| Error::Profile("no defaultAction".into()))?,
        profile["defaultErrnoRet"].as_u64(),
    )?;
    let mut rules = Rules::new(default);
    for e in profile["syscalls"].as_array().into_iter().flatten() {
        if !kept(e, load.caps, load.kernel) {
            continue;
        }
        let act = action(e["action"].as_str().unwrap_or(""), e["errnoRet"].as_u64())?;
        if act == default {
            continue;
        }
        let mut entry_names = strs(&e["names"]);
        if let Some(n) = e["name"].as_str() {
            entry_names.push(n.to_string());
        }
        let mut args = Vec::new();
        for a in e["args"].as_array().into_iter().flatten() {
            let op = a["op"].as_str().unwrap_or("");
            let op = ScmpCompare::from_oci(op)
                .ok_or_else(|| Error::Profile(format!("unknown operator {op:?}")))?;
            let index = a["index"]
                .as_u64()
                .ok_or_else(|| Error::Profile("argument without index".into()))?;
            args.push(ScmpArgCmp::new(
                c_uint::try_from(index)
                    .map_err(|_| Error::Profile(format!("argument index {index}")))?,
                op,
                a["value"]
                    .as_u64()
                    .ok_or_else(|| Error::Profile("argument without a numeric value".into()))?,
                a["valueTwo"].as_u64().unwrap_or(0),
            ));
        }
        let mut counts = [0; 6];
        for a in &args {
            counts[(a.arg as usize).min(5)] += 1;
        }
        let groups: Vec<&[ScmpArgCmp]> = if counts.iter().any(|&c| c > 1) {
            args.chunks(1).collect()
        } else {
            vec![&args[..]]
        };
        for name in entry_names {
            let Some(nr) = lib.number(&name, load.names) else {
                continue;
            };
            for g in &groups {
                rules.push(&name, act, nr, g);
            }
        }
    }
    Ok(rules)
}

/// [`profile_rules`] of the OCI/Docker JSON profile in the file at `path`.
pub fn file_rules(lib: &Libseccomp, path: &Path, load: &Load<'_>) -> Result<Rules, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        what: path.display().to_string(),
        source,
    })?;
    let json: Value = serde_json::from_str(&text)
        .map_err(|e| Error::Profile(format!("{}: not JSON ({e})", path.display())))?;
    if json.get("defaultAction").is_none() {
        return Err(Error::Profile(format!(
            "{}: no defaultAction",
            path.display()
        )));
    }
    profile_rules(lib, &json, load)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_are_runcs() {
        assert_eq!(action("SCMP_ACT_ERRNO", None).unwrap(), 0x0005_0001);
        assert_eq!(action("SCMP_ACT_ERRNO", Some(38)).unwrap(), 0x0005_0026);
        assert_eq!(action("SCMP_ACT_KILL", None).unwrap(), 0);
        assert_eq!(action("SCMP_ACT_KILL_PROCESS", None).unwrap(), 0x8000_0000);
        assert!(matches!(
            action("SCMP_ACT_NOPE", None),
            Err(Error::Profile(_))
        ));
    }

    #[test]
    fn includes_and_excludes_follow_moby() {
        let caps = vec!["CAP_SYS_ADMIN".to_string()];
        let e: Value = serde_json::from_str(
            r#"{"includes": {"caps": ["CAP_SYS_ADMIN"], "minKernel": "5.8"},
                "excludes": {"arches": ["s390x"]}}"#,
        )
        .unwrap();
        assert!(kept(&e, &caps, (6, 1)));
        assert!(!kept(&e, &caps, (5, 4)));
        assert!(!kept(&e, &[], (6, 1)));
        let x: Value =
            serde_json::from_str(r#"{"excludes": {"caps": ["CAP_SYS_ADMIN"]}}"#).unwrap();
        assert!(!kept(&x, &caps, (6, 1)));
        assert!(kept(&x, &[], (6, 1)));
        let a: Value = serde_json::from_str(r#"{"includes": {"arches": ["arm64"]}}"#).unwrap();
        assert!(!kept(&a, &caps, (6, 1)));
    }
}
