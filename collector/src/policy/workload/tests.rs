use super::{Action, Kind, parse};
use crate::policy::{Policy, PolicyError, trace::Mode};

const CONTAINER: &str = r"apiVersion: spyderbat/v1
kind: SpyderbatPolicy
metadata: {name: web-test, type: container, latestTimestamp: 1672333396.3253918}
spec:
  containerSelector: {image: web-test}
  namespaceSelector:
    matchLabels: {kubernetes.io/metadata.name: test}
    matchExpressions:
    - {key: env, operator: In, values: [prod]}
    - {key: foobar, operator: DoesNotExist}
  enabled: true
  mode: audit
  processPolicy:
  - name: python
    exe: [/usr/local/bin/python3.7]
    id: python_0
    euser: [root]
    children:
    - {name: sh, exe: [/bin/dash], id: sh_0,
       children: [{name: uname, exe: [/bin/uname], id: uname_0}]}
  networkPolicy:
    ingress:
    - from: [{ipBlock: {cidr: 192.168.6.11/32}}]
      processes: [python_0]
      ports: [{protocol: TCP, port: 22}]
    egress:
    - to: [{dnsSelector: [mongodb.local]}]
      processes: [python_0]
      ports: [{protocol: TCP, port: 27017}]
  response:
    default: [{makeRedFlag: {severity: high}}]
    actions:
    - agentKillProcess: {podSelector: {matchLabels: {env: dev}}}
";

const SERVICE: &str = r#"apiVersion: spyderbat/v1
kind: SpyderbatPolicy
metadata: {name: redis-server.service-policy, type: linux-service, latestTimestamp: 1678089658.45}
spec:
  serviceSelector: {cgroup: systemd:/system.slice/redis-server.service}
  machineSelector: {hostname: "*.us-west-2.compute.internal"}
  mode: enforce
  processPolicy:
  - {name: redis-server, exe: [/usr/bin/redis-check-rdb], id: redis-server_0, euser: [redis],
     listeningSockets: [{port: 6379, protocol: TCP}]}
  networkPolicy: {ingress: [], egress: []}
  response: {default: [{makeRedFlag: {severity: info, content: "provisional flag"}}], actions: []}
"#;

fn refused(text: &str) -> PolicyError {
    parse("p.yaml", text).expect_err("refused")
}

#[test]
fn the_seed_shapes_parse() {
    let c = parse("c.yaml", CONTAINER).expect("container policy");
    assert_eq!(
        (c.kind, c.mode, c.enabled),
        (Kind::Container, Mode::Audit, true)
    );
    assert_eq!(c.select.len(), 2);
    let uname = c.node("uname_0").expect("nested node");
    assert_eq!(uname.euser, ["root"], "children inherit euser");
    assert_eq!(c.ingress.len() + c.egress.len(), 2);
    assert_eq!(c.actions[0].action, Action::Kill);
    let s = parse("s.yaml", SERVICE).expect("service policy");
    assert_eq!((s.kind, s.mode), (Kind::Service, Mode::Enforce));
    assert_eq!(s.roots[0].listening[0].port, 6379);
    assert!(matches!(&s.default[0].action, Action::RedFlag { severity, .. } if severity == "info"));
    assert!(matches!(
        crate::policy::parse("s.yaml", SERVICE),
        Ok(Policy::Workload(_))
    ));
}

#[test]
fn round_trips_through_yaml() {
    for text in [CONTAINER, SERVICE] {
        let p = parse("a.yaml", text).expect("parses");
        let again = parse("b.yaml", &p.to_yaml("perch: test")).expect("its own output parses");
        assert_eq!(p, again);
        assert_eq!(p.roots, again.roots);
    }
}

#[test]
fn renice_priority_out_of_range_names_field_and_line() {
    let text = SERVICE.replace(
        "actions: []}",
        "actions: []}\n".trim_end(),
    ).replace(
        "  response: {default: [{makeRedFlag: {severity: info, content: \"provisional flag\"}}], actions: []}\n",
        "  response:\n    default: []\n    actions:\n    - agentReniceProcess:\n        priority: \"20\"\n        processSelector: {name: redis-server}\n",
    );
    let e = refused(&text);
    assert_eq!(
        e.field,
        "spec.response.actions[0].agentReniceProcess.priority"
    );
    assert_eq!(e.message, "must be in -20..19 (got \"20\")");
    assert_eq!(e.line, 16, "{e}");
    let ok = text.replace("\"20\"", "\"19\"");
    let p = parse("p.yaml", &ok).expect("19 is allowed");
    assert_eq!(p.actions[0].action, Action::Renice(19));
}

/// Each kind of mistake: (what to replace, with what, field, line).
#[test]
#[expect(clippy::too_many_lines, reason = "one table of cases")]
fn each_mistake_names_field_and_line() {
    let cases: &[(&str, &str, &str, &str, u64)] = &[
        (CONTAINER, "mode: audit", "mode: loud", "spec.mode", 12),
        (
            CONTAINER,
            "type: container",
            "type: cluster",
            "metadata.type",
            3,
        ),
        (
            CONTAINER,
            "  containerSelector: {image: web-test}\n",
            "",
            "spec.containerSelector",
            0,
        ),
        (CONTAINER, "{image: web-test}", "{colour: red}", "colour", 5),
        (
            CONTAINER,
            "operator: In",
            "operator: Like",
            "spec.namespaceSelector.matchExpressions[0].operator",
            9,
        ),
        (
            CONTAINER,
            "operator: DoesNotExist}",
            "operator: DoesNotExist, values: [x]}",
            "spec.namespaceSelector.matchExpressions[1].values",
            10,
        ),
        (
            CONTAINER,
            "    euser: [root]\n",
            "",
            "spec.processPolicy[0].euser",
            14,
        ),
        (
            CONTAINER,
            "id: sh_0",
            "id: python_0",
            "spec.processPolicy[0].children[0].id",
            19,
        ),
        (
            CONTAINER,
            "port: 22}",
            "port: 70000}",
            "spec.networkPolicy.ingress[0].ports[0].port",
            25,
        ),
        (
            CONTAINER,
            "protocol: TCP, port: 22",
            "protocol: SCTP, port: 22",
            "spec.networkPolicy.ingress[0].ports[0].protocol",
            25,
        ),
        (
            CONTAINER,
            "192.168.6.11/32",
            "192.168.6.300/32",
            "spec.networkPolicy.ingress[0].from[0].ipBlock.cidr",
            23,
        ),
        (
            CONTAINER,
            "processes: [python_0]\n      ports: [{protocol: TCP, port: 27017}]",
            "processes: [java_0]\n      ports: [{protocol: TCP, port: 27017}]",
            "spec.networkPolicy.egress[0].processes[0]",
            27,
        ),
        (
            CONTAINER,
            "severity: high",
            "severity: dire",
            "spec.response.default[0].makeRedFlag.severity",
            31,
        ),
        (
            CONTAINER,
            "{makeRedFlag: {severity: high}}",
            "{makeRedFlag: {severity: high}, agentKillPod: {}}",
            "spec.response.default[0]",
            31,
        ),
        (
            CONTAINER,
            "{podSelector: {matchLabels: {env: dev}}}",
            "{}",
            "spec.response.actions[0].agentKillProcess",
            33,
        ),
        (
            CONTAINER,
            "{makeRedFlag: {severity: high}}",
            "{agentKillProcess: {priority: 3}}",
            "spec.response.default[0].agentKillProcess.priority",
            31,
        ),
        (
            SERVICE,
            "port: 6379",
            "port: -1",
            "spec.processPolicy[0].listeningSockets[0].port",
            10,
        ),
    ];
    for (base, from, to, field, line) in cases {
        assert!(base.contains(from), "{from}");
        let e = refused(&base.replacen(from, to, 1));
        assert_eq!(
            (e.field.as_str(), e.line),
            (*field, *line),
            "{from} -> {to}: {e}"
        );
    }
}

#[test]
fn unknown_fields_are_refused() {
    let e = refused(&CONTAINER.replace("  enabled: true\n", "  enabled: true\n  colour: blue\n"));
    assert!(e.message.contains("unknown field"), "{e}");
    assert_eq!(e.field, "colour");
    assert_eq!(e.line, 12);
}

#[test]
fn machine_policies_need_a_machine_selector() {
    let text = SERVICE
        .replace("type: linux-service", "type: machine")
        .replace(
            "  serviceSelector: {cgroup: systemd:/system.slice/redis-server.service}\n",
            "",
        );
    let p = parse("m.yaml", &text).expect("machine policy");
    assert_eq!(p.kind, Kind::Machine);
    let e = refused(&text.replace(
        "  machineSelector: {hostname: \"*.us-west-2.compute.internal\"}\n",
        "",
    ));
    assert_eq!(e.field, "spec.machineSelector");
}
