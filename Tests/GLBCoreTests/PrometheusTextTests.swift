import GLBCore
import Testing

@Suite("Prometheus text exposition")
struct PrometheusTextTests {
    @Test("a family is HELP and TYPE, then its samples with labels in the order given")
    func families() {
        var out = PrometheusText()
        out.family("x_packets_total", .counter, "Packets.")
        out.sample("x_packets_total", [("iface", "eth0"), ("outcome", "a")], integer: 3)
        out.sample("x_packets_total", [], 0.5)
        out.single("x_up", .gauge, "Up.", 1)
        #expect(out.text == """
            # HELP x_packets_total Packets.
            # TYPE x_packets_total counter
            x_packets_total{iface="eth0",outcome="a"} 3
            x_packets_total 0.5
            # HELP x_up Up.
            # TYPE x_up gauge
            x_up 1

            """)
    }

    @Test("label values escape backslash, double quote and line feed, even inside CR LF")
    func labelEscaping() {
        var out = PrometheusText()
        out.sample("m", [("l", "a\\b\"c\nd\r\ne")], 1)
        #expect(out.text == #"m{l="a\\b\"c\nd\#r\ne"} 1"# + "\n")
        #expect(PrometheusText.escapeLabel("plain-é") == "plain-é")
    }

    @Test("help texts escape backslash and line feed, not double quotes")
    func helpEscaping() {
        #expect(PrometheusText.escapeHelp("say \"hi\"\\\nnext") == #"say "hi"\\\nnext"#)
    }

    @Test("values: integers without a fraction, every digit of a UInt64, special values as Prometheus spells them")
    func values() {
        #expect(PrometheusText.format(3) == "3")
        #expect(PrometheusText.format(0.003) == "0.003")
        #expect(PrometheusText.format(.nan) == "NaN")
        #expect(PrometheusText.format(.infinity) == "+Inf")
        #expect(PrometheusText.format(-.infinity) == "-Inf")
        var out = PrometheusText()
        out.sample("m", [], integer: UInt64.max)
        #expect(out.text == "m 18446744073709551615\n")
    }
}
