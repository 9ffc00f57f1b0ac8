//! A small SVG line chart: instructions executed per syscall number, one
//! line per jump layout, one panel per architecture (`layouts --svg`).

use std::fmt::Write as _;

/// One line of a panel: a label and `(syscall number, instructions)` points
/// in ascending number order.
pub struct Series {
    /// Legend text.
    pub label: String,
    /// The points.
    pub points: Vec<(u32, usize)>,
}

/// One chart: a title and its lines.
pub struct Panel {
    /// Title above the chart (the architecture).
    pub title: String,
    /// The lines, drawn in order.
    pub series: Vec<Series>,
}

const WIDTH: f64 = 960.0;
const PANEL_HEIGHT: f64 = 360.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 190.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 48.0;
const COLORS: [&str; 6] = [
    "#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
];

/// Renders the panels stacked vertically. The y axis is logarithmic (a
/// linear layout runs hundreds of instructions where a search runs ten).
pub fn render(title: &str, panels: &[Panel]) -> String {
    let height = 30.0 + PANEL_HEIGHT * panels.len().max(1) as f64;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="20" font-size="15" text-anchor="middle">{}</text>"#,
        WIDTH / 2.0,
        escape(title)
    );
    for (i, panel) in panels.iter().enumerate() {
        draw_panel(&mut s, panel, 30.0 + PANEL_HEIGHT * i as f64);
    }
    s.push_str("</svg>\n");
    s
}

fn draw_panel(s: &mut String, panel: &Panel, y0: f64) {
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = PANEL_HEIGHT - TOP - BOTTOM;
    let (top, bottom) = (y0 + TOP, y0 + TOP + plot_h);
    let max_nr = panel
        .series
        .iter()
        .flat_map(|se| se.points.iter().map(|p| p.0))
        .max()
        .unwrap_or(0)
        .max(1);
    let max_steps = panel
        .series
        .iter()
        .flat_map(|se| se.points.iter().map(|p| p.1))
        .max()
        .unwrap_or(1)
        .max(2);
    let y_top = nice_ceiling(max_steps as f64);
    let x = |nr: u32| LEFT + plot_w * nr as f64 / max_nr as f64;
    let y = |steps: usize| {
        let v = (steps.max(1) as f64).log10() / y_top.log10();
        bottom - plot_h * v
    };
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" font-size="13" text-anchor="middle">{}</text>"#,
        LEFT + plot_w / 2.0,
        y0 + TOP - 12.0,
        escape(&panel.title)
    );
    // Axes and grid.
    let _ = writeln!(
        s,
        r##"<rect x="{LEFT}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#444"/>"##
    );
    for tick in log_ticks(y_top) {
        let ty = y(tick);
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{ty:.1}" x2="{}" y2="{ty:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{tick}</text>"##,
            LEFT + plot_w,
            LEFT - 6.0,
            ty + 4.0
        );
    }
    for k in 0..=8u32 {
        let nr = max_nr * k / 8;
        let tx = x(nr);
        let _ = writeln!(
            s,
            r##"<line x1="{tx:.1}" y1="{bottom}" x2="{tx:.1}" y2="{:.1}" stroke="#444"/><text x="{tx:.1}" y="{:.1}" text-anchor="middle">{nr}</text>"##,
            bottom + 4.0,
            bottom + 17.0
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{:.1}" text-anchor="middle">syscall number</text>"#,
        LEFT + plot_w / 2.0,
        bottom + 36.0
    );
    let _ = writeln!(
        s,
        r#"<text transform="translate(16,{:.1}) rotate(-90)" text-anchor="middle">instructions executed (max, log scale)</text>"#,
        top + plot_h / 2.0
    );
    // Lines and legend.
    for (i, se) in panel.series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let mut pts = String::new();
        for &(nr, steps) in &se.points {
            let _ = write!(pts, "{:.1},{:.1} ", x(nr), y(steps));
        }
        let _ = writeln!(
            s,
            r#"<polyline data-series="{}" fill="none" stroke="{color}" stroke-width="1.2" points="{}"/>"#,
            escape(&se.label),
            pts.trim_end()
        );
        let ly = top + 18.0 * i as f64 + 6.0;
        let lx = LEFT + plot_w + 14.0;
        let _ = writeln!(
            s,
            r#"<line x1="{lx}" y1="{ly}" x2="{}" y2="{ly}" stroke="{color}" stroke-width="3"/><text x="{}" y="{}">{}</text>"#,
            lx + 22.0,
            lx + 28.0,
            ly + 4.0,
            escape(&se.label)
        );
    }
}

/// The smallest 1, 2 or 5 times a power of ten that is at least `v`.
fn nice_ceiling(v: f64) -> f64 {
    let mut p = 1.0;
    loop {
        for m in [1.0, 2.0, 5.0] {
            if m * p >= v {
                return m * p;
            }
        }
        p *= 10.0;
    }
}

/// Tick values 1, 2, 5, 10, ... up to `top`.
fn log_ticks(top: f64) -> Vec<usize> {
    let mut out = Vec::new();
    let mut p = 1usize;
    while (p as f64) <= top {
        for m in [1, 2, 5] {
            if ((m * p) as f64) <= top {
                out.push(m * p);
            }
        }
        p *= 10;
    }
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_polyline_per_series_with_every_point() {
        let panels = vec![Panel {
            title: "x86_64 <test>".into(),
            series: vec![
                Series {
                    label: "linear".into(),
                    points: (0..50).map(|n| (n, 3 + n as usize * 6)).collect(),
                },
                Series {
                    label: "ranges".into(),
                    points: (0..50).map(|n| (n, 5 + (n % 3) as usize)).collect(),
                },
            ],
        }];
        let svg = render("layouts", &panels);
        assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>\n"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains("x86_64 &lt;test&gt;"));
        let linear = svg
            .lines()
            .find(|l| l.contains(r#"data-series="linear""#))
            .unwrap();
        let points = linear.split("points=\"").nth(1).unwrap();
        assert_eq!(points.split(' ').count(), 50);
        // Higher step counts are drawn higher (smaller y).
        let ys: Vec<f64> = points
            .trim_end_matches("\"/>")
            .split(' ')
            .map(|p| p.split(',').nth(1).unwrap().parse().unwrap())
            .collect();
        assert!(ys.windows(2).all(|w| w[1] < w[0]));
    }

    #[test]
    fn ticks_and_ceilings() {
        assert_eq!(nice_ceiling(7.0), 10.0);
        assert_eq!(nice_ceiling(318.0), 500.0);
        assert_eq!(nice_ceiling(2.0), 2.0);
        assert_eq!(log_ticks(50.0), vec![1, 2, 5, 10, 20, 50]);
    }
}
