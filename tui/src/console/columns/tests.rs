use super::*;

fn names(cols: &[(Column, u16)]) -> Vec<&'static str> {
    cols.iter().map(|(c, _)| c.title()).collect()
}

#[test]
fn narrow_terminals_drop_the_least_useful_columns() {
    let all = Columns::default();
    let wide = fit(160, Optional::default(), &all);
    assert_eq!(wide.len(), 11);
    assert_eq!(wide.last(), Some(&(Column::Command, 91)));
    assert_eq!(
        names(&fit(80, Optional::default(), &all)),
        [
            "PID", "USER", "S", "CPU%", "MEM%", "RSS", "TIME+", "COMMAND"
        ]
    );
    // An empty CONTAINER column gives way before TIME+.
    let container = Optional {
        container: true,
        host: false,
    };
    assert_eq!(
        names(&fit(80, container, &all)),
        [
            "PID", "USER", "S", "CPU%", "MEM%", "RSS", "TIME+", "COMMAND"
        ]
    );
    let both = Optional {
        container: true,
        host: true,
    };
    // With several hosts, HOST outranks CONTAINER.
    assert_eq!(
        names(&fit(80, both, &all)),
        ["PID", "USER", "S", "CPU%", "MEM%", "RSS", "HOST", "COMMAND"]
    );
    assert!(names(&fit(160, both, &all)).contains(&"CONTAINER"));
    // Whatever the width, PID and COMMAND stay, and nothing overflows.
    for w in 0..200 {
        let cols = fit(w, both, &all);
        assert!(names(&cols).starts_with(&["PID"]));
        assert_eq!(cols.last().map(|c| c.0), Some(Column::Command));
    }
}

#[test]
fn configured_columns_narrow_and_order_the_table() {
    let shown = Columns::none().with(Column::Cpu).with(Column::Pid);
    assert_eq!(
        names(&fit(160, Optional::default(), &shown)),
        ["CPU%", "PID", "COMMAND"]
    );
    // COMMAND stays, last, even when the set leaves it out or puts it first;
    // optional columns still need something to show.
    let both = Optional {
        container: true,
        host: true,
    };
    assert_eq!(names(&fit(160, both, &Columns::none())), ["COMMAND"]);
    let first = Columns::new([Column::Command, Column::Host, Column::Tty]);
    assert_eq!(
        names(&fit(160, Optional::default(), &first)),
        ["TTY", "COMMAND"]
    );
    assert_eq!(fit(160, both, &Columns::none())[0].1, 160);
}

#[test]
fn toggling_and_moving() {
    let mut c = Columns::new([Column::Pid, Column::Cpu]);
    c.toggle(Column::Exe);
    assert_eq!(c.names(), ["PID", "CPU%", "EXE"]);
    c.shift(Column::Exe, -1);
    assert_eq!(c.names(), ["PID", "EXE", "CPU%"]);
    c.shift(Column::Cpu, 1);
    assert_eq!(c.names(), ["PID", "EXE", "CPU%"], "COMMAND stays last");
    c.shift(Column::Pid, -1);
    assert_eq!(c.names(), ["PID", "EXE", "CPU%"]);
    c.toggle(Column::Pid);
    c.toggle(Column::Command);
    assert_eq!(c.names(), ["EXE", "CPU%"]);
    assert_eq!(c.list().last(), Some(&Column::Command));
}

#[test]
fn names_in_a_configuration() {
    for (name, col) in [
        ("PID", Column::Pid),
        ("cpu%", Column::Cpu),
        ("cpu", Column::Cpu),
        ("READ/s", Column::Read),
        ("read", Column::Read),
        ("Time+", Column::Time),
        ("time", Column::Time),
        ("command", Column::Command),
        ("s", Column::State),
        ("state", Column::State),
        ("RES", Column::Rss),
        ("ni", Column::Nice),
        ("nlwp", Column::Threads),
        ("thr", Column::Threads),
        ("auser", Column::AUser),
        ("elapsed", Column::Elapsed),
    ] {
        assert_eq!(Column::from_name(name), Some(col), "{name}");
    }
    for bad in ["", "cpux", "%", "reads"] {
        assert_eq!(Column::from_name(bad), None, "{bad}");
    }
    for c in Column::ALL {
        assert_eq!(Column::from_name(c.title()), Some(c));
    }
}

#[test]
fn header_hit_testing() {
    let cols = fit(80, Optional::default(), &Columns::default());
    assert_eq!(at(&cols, 0), Some(Column::Pid));
    assert_eq!(at(&cols, 8), Some(Column::User));
    assert_eq!(at(&cols, 79), Some(Column::Command));
    assert_eq!(at(&cols, 200), None);
}
