//! Tests for cgroup path parsing and the resolver (split out to keep
//! cgroup.rs readable).
use super::*;

const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const UID: &str = "1234abcd-5678-90ab-cdef-1234567890ab";
const UID_: &str = "1234abcd_5678_90ab_cdef_1234567890ab";

fn parsed(path: &str) -> (Option<String>, Option<&'static str>, Option<String>) {
    let info = parse_cgroup_path(path);
    assert_eq!(info.path, path, "path is kept verbatim");
    (info.container_id, info.runtime, info.pod_uid)
}

#[expect(
    clippy::unnecessary_wraps,
    reason = "shortens the expected tuples in every test"
)]
fn some(s: &str) -> Option<String> {
    Some(s.to_owned())
}

#[test]
fn kubepods_systemd_containerd() {
    let p = format!(
        "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID_}.slice/cri-containerd-{ID}.scope"
    );
    assert_eq!(parsed(&p), (some(ID), Some("containerd"), some(UID)));
}

#[test]
fn kubepods_systemd_guaranteed_and_besteffort_crio() {
    let p = format!("/kubepods.slice/kubepods-pod{UID_}.slice/crio-{ID}.scope");
    assert_eq!(parsed(&p), (some(ID), Some("cri-o"), some(UID)));
    let p = format!(
        "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{UID_}.slice/crio-{ID}.scope"
    );
    assert_eq!(parsed(&p), (some(ID), Some("cri-o"), some(UID)));
}

#[test]
fn kubepods_cgroupfs_driver() {
    let p = format!("/kubepods/burstable/pod{UID}/{ID}");
    assert_eq!(parsed(&p), (some(ID), None, some(UID)));
    let p = format!("/kubepods/pod{UID}/{ID}");
    assert_eq!(parsed(&p), (some(ID), None, some(UID)));
    let p = format!("/kubepods/besteffort/pod{UID}/crio-{ID}");
    assert_eq!(parsed(&p), (some(ID), Some("cri-o"), some(UID)));
}

#[test]
fn pod_slice_without_container_and_static_pod_uid() {
    let p = format!("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID_}.slice");
    assert_eq!(parsed(&p), (None, None, some(UID)));
    let hash = "5f3c0c4f2b9f6d6c0e3b9c9f1a2b3c4d";
    let p = format!(
        "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{hash}.slice/cri-containerd-{ID}.scope"
    );
    assert_eq!(parsed(&p), (some(ID), Some("containerd"), some(hash)));
}

#[test]
fn kubelet_nested_in_kind() {
    let p = format!(
        "/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod{UID_}.slice/cri-containerd-{ID}.scope"
    );
    assert_eq!(parsed(&p), (some(ID), Some("containerd"), some(UID)));
}

#[test]
fn docker_podman_and_sub_cgroups() {
    assert_eq!(
        parsed(&format!("/system.slice/docker-{ID}.scope")),
        (some(ID), Some("docker"), None)
    );
    assert_eq!(
        parsed(&format!("/docker/{ID}")),
        (some(ID), Some("docker"), None)
    );
    assert_eq!(
        parsed(&format!("/docker/{ID}/init")),
        (some(ID), Some("docker"), None)
    );
    assert_eq!(
        parsed(&format!("/machine.slice/libpod-{ID}.scope/container")),
        (some(ID), Some("podman"), None)
    );
    assert_eq!(
        parsed("/docker/0123456789ab"),
        (some("0123456789ab"), Some("docker"), None),
        "12 hex is enough"
    );
}

#[test]
fn nested_container_reports_the_inner_one() {
    let inner = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
    assert_eq!(
        parsed(&format!("/docker/{ID}/docker/{inner}")),
        (some(inner), Some("docker"), None)
    );
}

#[test]
fn monitors_are_not_containers() {
    assert_eq!(
        parsed(&format!("/machine.slice/crio-conmon-{ID}.scope")),
        (None, None, None)
    );
    assert_eq!(
        parsed(&format!("/machine.slice/libpod-conmon-{ID}.scope")),
        (None, None, None)
    );
    let p = format!("/kubepods.slice/kubepods-pod{UID_}.slice/crio-conmon-{ID}.scope");
    assert_eq!(parsed(&p), (None, None, some(UID)));
}

#[test]
fn negatives() {
    for p in [
        "",
        "/",
        "/init.scope",
        "/user.slice/user-0.slice/session-3.scope",
        "/system.slice/docker.service",
        "/system.slice/containerd.service",
        // hex-named cgroups outside docker/pods are not containers
        "/process_api/76b4be695ee50b797aec72d4d8a122da",
        "/0123456789abcdef0123456789abcdef",
        // too short, uppercase, non-hex, too long
        "/docker/0123456789a",
        "/docker/0123456789ABCDEF",
        "/system.slice/docker-compose-web.scope",
        "/system.slice/docker-0123456789abcdefg.scope",
        &format!("/docker/{ID}0"),
        // a pod directory outside kubepods, and malformed pod uids
        &format!("/pod{UID}/{ID}"),
        "/kubepods/burstable/pod1234/abc",
        "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podnot_a_uid.slice",
        &format!("/kubepods.slice/kubepods-pod{UID_}.scope"),
    ] {
        assert_eq!(parsed(p), (None, None, None), "{p:?}");
    }
    // bare hex directly below kubepods qos (no pod) is not a container
    assert_eq!(
        parsed(&format!("/kubepods/burstable/{ID}")),
        (None, None, None)
    );
}

#[test]
fn cgroup2_mount_from_mountinfo() {
    let hybrid = "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n\
        32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n\
        41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
    assert_eq!(
        cgroup2_mount_in(hybrid),
        Some(PathBuf::from("/sys/fs/cgroup/unified"))
    );
    let bind_first = "50 23 0:38 /sub /mnt/sub rw - cgroup2 cgroup2 rw\n\
        garbage line\n\
        51 23 0:38 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
    assert_eq!(
        cgroup2_mount_in(bind_first),
        Some(PathBuf::from("/sys/fs/cgroup"))
    );
    assert_eq!(
        cgroup2_mount_in("31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n"),
        None
    );
}

#[test]
fn resolver_walks_tree_and_throttles_rescans() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join(format!("system.slice/docker-{ID}.scope"));
    fs::create_dir_all(&dir).expect("mkdir");
    fs::write(tmp.path().join("cgroup.procs"), "").expect("file");
    let scope_id = fs::metadata(&dir).expect("stat").ino();
    let mut r = CgroupResolver::new(tmp.path());
    let info = r.resolve_id(scope_id).expect("found by walk");
    assert_eq!(info.path, format!("/system.slice/docker-{ID}.scope"));
    assert_eq!(info.runtime, Some("docker"));
    let root_ino = fs::metadata(tmp.path()).expect("stat").ino();
    assert_eq!(r.resolve_id(root_ino).expect("root").path, "/");

    // A cgroup created right after a walk is walked for at once when its
    // id is newer than any the walk saw (cgroupfs ids always grow; this
    // temporary file system's inode numbers may not), else after 200 ms.
    // The e2e pod policy test runs the real case.
    let late = tmp.path().join("late");
    fs::create_dir(&late).expect("mkdir");
    let late_ino = fs::metadata(&late).expect("stat").ino();
    let newest = fs::metadata(&dir).expect("stat").ino().max(root_ino);
    if late_ino > newest {
        assert_eq!(
            r.resolve_id(late_ino).expect("new: walked at once").path,
            "/late"
        );
    } else {
        assert!(r.resolve_id(late_ino).is_none(), "throttled");
    }
    // An id no walk finds is not walked for again until 200 ms passed.
    assert!(r.resolve_id(u64::MAX).is_none(), "walked for, not found");
    let second = tmp.path().join("later");
    fs::create_dir(&second).expect("mkdir");
    let second_ino = fs::metadata(&second).expect("stat").ino();
    assert!(r.resolve_id(u64::MAX).is_none());
    if second_ino <= newest {
        assert!(
            r.resolve_id(second_ino).is_none(),
            "old-looking and unknown: throttled"
        );
    }
    std::thread::sleep(MIN_RESCAN + Duration::from_millis(50));
    assert_eq!(
        r.resolve_id(second_ino).expect("after throttle").path,
        "/later"
    );
    assert_eq!(
        r.resolve_id(late_ino).expect("after throttle").path,
        "/late"
    );
}

#[test]
fn resolver_paths_are_cached_and_ids_fresh() {
    let tmp = tempfile::tempdir().expect("tempdir");
    fs::create_dir(tmp.path().join("a")).expect("mkdir");
    let mut r = CgroupResolver::new(tmp.path());
    let first = r.from_path("/a");
    assert!(Arc::ptr_eq(&first, &r.from_path("/a")));
    let (info, id) = r.resolve_path("/a");
    assert!(Arc::ptr_eq(&first, &info));
    let id = id.expect("exists");
    assert!(Arc::ptr_eq(&r.resolve_id(id).expect("remembered"), &first));
    assert_eq!(r.id_of_path("/missing"), None);
    assert_eq!(r.id_of_path("/../etc"), None);
}

#[test]
fn live_cgroup2_root_resolves() {
    let Some(root) = find_cgroup2_mount() else {
        return;
    };
    let mut r = CgroupResolver::new(&root);
    let (info, id) = r.resolve_path("/");
    assert_eq!(info.path, "/");
    let id = id.expect("cgroup2 root exists");
    assert_eq!(r.resolve_id(id).expect("root id").path, "/");
}

#[test]
fn odd_paths_never_panic() {
    let parts = [
        "",
        "/",
        "kubepods",
        "kubepods-pod",
        ".slice",
        "pod",
        UID,
        UID_,
        ID,
        "docker",
        "docker-",
        ".scope",
        "crio-",
        "-pod",
        "é",
        "_",
    ];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..2000 {
        let mut p = String::new();
        for _ in 0..6 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            p.push_str(parts[usize::try_from(x % 16).unwrap_or(0)]);
            if x & 0x100 != 0 {
                p.push('/');
            }
        }
        assert_eq!(parse_cgroup_path(&p).path, p);
    }
}
