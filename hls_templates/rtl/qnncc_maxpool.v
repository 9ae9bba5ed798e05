// qnncc RTL library: StreamingMaxPool, max pooling with stride = window.
//
// IH x IW image of C channels (C/PE words of PE channels per pixel) pooled
// over KH x KW windows into OH x OW pixels. Window (oh, ow) covers rows
// oh*KH .. min(oh*KH + KH, IH) - 1 and the same for columns: a partial last
// window (ceil mode) takes the maximum of the pixels it covers; pixels past
// OH*KH rows or OW*KW columns (floor mode) are read and dropped. A buffer of
// OW*C/PE words keeps the running maxima of one output row; an output word
// leaves with the last input word of its window. One input word per cycle:
// IH * IW * C/PE cycles per frame.
module qnncc_maxpool #(
    parameter IH = 1,
    parameter IW = 1,
    parameter C = 1,
    parameter PE = 1,
    parameter KH = 1,
    parameter KW = 1,
    parameter OH = 1,
    parameter OW = 1,
    parameter BITS = 1,
    parameter SIGNED = 0,
    parameter BIPOLAR = 0
) (
    input wire clk,
    input wire rst_n,
    input wire [PE*BITS-1:0] in_data,
    input wire in_valid,
    output wire in_ready,
    output reg [PE*BITS-1:0] out_data,
    output reg out_valid,
    input wire out_ready
);
  localparam CF = C / PE;
  localparam DEPTH = OW * CF;
  localparam AW = (DEPTH > 1) ? $clog2(DEPTH) : 1;
  localparam HW_ = $clog2(IH + KH + 2);
  localparam WW_ = $clog2(IW + KW + 2);
  localparam FW = $clog2(CF + 1);
  reg [HW_-1:0] h, oh, ph;
  reg [WW_-1:0] w, ow, pw;
  reg [FW-1:0] cf;
  wire en = !out_valid || out_ready;
  assign in_ready = en;
  wire fire = in_valid && en;
  wire in_pool = (oh < OH) && (ow < OW);
  wire first = (ph == 0) && (pw == 0);
  wire last = ((ph == KH - 1) || (h == IH - 1)) && ((pw == KW - 1) || (w == IW - 1));
  wire [AW-1:0] addr = ow * CF + cf;
  reg [PE*BITS-1:0] maxima[0:DEPTH-1];
  wire [PE*BITS-1:0] old = maxima[addr];
  wire [PE*(BITS+1)-1:0] xs, os;
  qnncc_decode #(
      .N(PE),
      .BITS(BITS),
      .SIGNED(SIGNED),
      .BIPOLAR(BIPOLAR)
  ) dec_x (
      .x(in_data),
      .y(xs)
  );
  qnncc_decode #(
      .N(PE),
      .BITS(BITS),
      .SIGNED(SIGNED),
      .BIPOLAR(BIPOLAR)
  ) dec_o (
      .x(old),
      .y(os)
  );
  reg [PE*BITS-1:0] m;
  reg signed [BITS:0] a, b;
  integer p;
  always @* begin
    for (p = 0; p < PE; p = p + 1) begin
      a = xs[p*(BITS+1)+:BITS+1];
      b = os[p*(BITS+1)+:BITS+1];
      m[p*BITS+:BITS] = (first || a > b) ? in_data[p*BITS+:BITS] : old[p*BITS+:BITS];
    end
  end
  always @(posedge clk) if (fire && in_pool && !last) maxima[addr] <= m;
  always @(posedge clk) begin
    if (!rst_n) begin
      h <= 0;
      oh <= 0;
      ph <= 0;
      w <= 0;
      ow <= 0;
      pw <= 0;
      cf <= 0;
      out_valid <= 1'b0;
    end else if (en) begin
      out_valid <= fire && in_pool && last;
      if (fire) begin
        out_data <= m;
        if (cf == CF - 1) begin
          cf <= 0;
          if (w == IW - 1) begin
            w  <= 0;
            ow <= 0;
            pw <= 0;
            if (h == IH - 1) begin
              h  <= 0;
              oh <= 0;
              ph <= 0;
            end else begin
              h <= h + 1'b1;
              if (ph == KH - 1) begin
                ph <= 0;
                oh <= oh + 1'b1;
              end else ph <= ph + 1'b1;
            end
          end else begin
            w <= w + 1'b1;
            if (pw == KW - 1) begin
              pw <= 0;
              ow <= ow + 1'b1;
            end else pw <= pw + 1'b1;
          end
        end else cf <= cf + 1'b1;
      end
    end
  end
endmodule
