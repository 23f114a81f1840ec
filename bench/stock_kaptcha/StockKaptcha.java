// Writes N captchas drawn by the kaptcha library with its stock settings, each saved as
// KaptchaServlet sends it: ImageIO's JPEG writer at its default quality.
// Arguments: OUT N LENGTH [kaptcha.property=value ...] (e.g. another obscurificator).
import com.google.code.kaptcha.Producer;
import com.google.code.kaptcha.util.Config;
import java.awt.image.BufferedImage;
import java.io.File;
import java.util.Properties;
import javax.imageio.ImageIO;

public class StockKaptcha {
    public static void main(String[] args) throws Exception {
        File out = new File(args[0]);
        int count = Integer.parseInt(args[1]);
        Properties props = new Properties();
        props.setProperty("kaptcha.textproducer.char.length", args[2]);
        for (int i = 3; i < args.length; i++) {
            String[] pair = args[i].split("=", 2);
            props.setProperty(pair[0], pair[1]);
        }
        Producer producer = new Config(props).getProducerImpl();
        out.mkdirs();
        for (int i = 0; i < count; i++) {
            String text = producer.createText();
            BufferedImage image = producer.createImage(text);
            ImageIO.write(image, "jpg", new File(out, text + "_" + i + ".jpg"));
        }
    }
}
