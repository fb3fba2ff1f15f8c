package org.nibble.bench;

import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** PNG line charts of training and validation loss (JFreeChart, headless). */
final class LossPlot {
    private LossPlot() {
    }

    /** One curve: a label and (step, loss) points. */
    record Curve(String label, double[] steps, double[] values, boolean dashed) {
    }

    static void write(Path png, String title, List<Curve> curves) throws IOException {
        System.setProperty("java.awt.headless", "true");
        XYSeriesCollection data = new XYSeriesCollection();
        for (Curve c : curves) {
            XYSeries s = new XYSeries(c.label(), false, true);
            for (int i = 0; i < c.steps().length; i++) {
                if (Double.isFinite(c.values()[i])) {
                    s.add(c.steps()[i], c.values()[i]);
                }
            }
            data.addSeries(s);
        }
        JFreeChart chart = ChartFactory.createXYLineChart(title, "step", "loss (nats/byte)", data,
                PlotOrientation.VERTICAL, true, false, false);
        XYPlot plot = chart.getXYPlot();
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        plot.getRangeAxis().setAutoRange(true);
        ((org.jfree.chart.axis.NumberAxis) plot.getRangeAxis()).setAutoRangeIncludesZero(false);
        XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(true, false);
        Color[] palette = {new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c), new Color(0x9467bd),
                new Color(0xff7f0e), new Color(0x8c564b), new Color(0xe377c2), new Color(0x17becf)};
        int variant = -1;
        for (int i = 0; i < curves.size(); i++) {
            if (!curves.get(i).dashed()) {
                variant++;
            }
            r.setSeriesPaint(i, palette[Math.max(0, variant) % palette.length]);
            r.setSeriesStroke(i, curves.get(i).dashed()
                    ? new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 1f, new float[]{6f, 4f}, 0f)
                    : new BasicStroke(1.2f));
            r.setSeriesShapesVisible(i, curves.get(i).dashed());
        }
        plot.setRenderer(r);
        ChartUtils.saveChartAsPNG(png.toFile(), chart, 1000, 600);
    }
}
